/** Lower-cases and trims an address; returns null when it is not of the form local@domain. */
export function normaliseAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  const trimmed = value.trim().replace(/^<|>$/g, '').toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1 || /\s/.test(trimmed)) return null;
  return trimmed;
}

/** The domain of an address, lower-case, or null. */
export function domainOf(address: string): string | null {
  const normalised = normaliseAddress(address);
  return normalised ? normalised.slice(normalised.lastIndexOf('@') + 1) : null;
}

/** True when a CRM email field holds a bare domain (`acme.example`) rather than an address. */
export function isBareDomain(value: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i.test(value.trim());
}

/**
 * Splits a CRM email field into what it matches: a full address or a bare domain (either lower-case).
 * Anything else matches nothing.
 */
export function classifyEmailField(
  value: string | null | undefined,
): { kind: 'address'; value: string } | { kind: 'domain'; value: string } | null {
  if (!value || !value.trim()) return null;
  const trimmed = value.trim().toLowerCase().replace(/^@/, '');
  const address = normaliseAddress(trimmed);
  if (address) return { kind: 'address', value: address };
  if (isBareDomain(trimmed)) return { kind: 'domain', value: trimmed };
  return null;
}
