// The webhook checks the clientState and mailbox/graph creates subscriptions with it; it lives beside the webhook so
// that http/ imports no adapter.
import { createHash, hash, timingSafeEqual } from 'node:crypto';

// The one-shot hash: a Hash object per call cost more than the rest of the clientState check.
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/**
 * Compares a received clientState with ours in constant time. Hashing both first gives equal-length inputs,
 * so neither the content nor the length of the secret leaks through timing.
 */
export function clientStateMatches(received: unknown, expected: string | ClientStateCheck): boolean {
  if (typeof received !== 'string') return false;
  const expectedDigest = typeof expected === 'string' ? digest(expected) : expected.digest;
  return timingSafeEqual(digest(received), expectedDigest);
}

/** Our clientState prepared once for `clientStateMatches`: its digest, not the secret. */
export interface ClientStateCheck {
  readonly digest: Buffer;
}

export function clientStateCheck(expected: string): ClientStateCheck {
  return { digest: digest(expected) };
}

/** A fingerprint of the clientState stored next to a subscription, to notice when the configured secret changed. */
export function clientStateFingerprint(clientState: string): string {
  return createHash('sha256').update(`graph-client-state:${clientState}`, 'utf8').digest('hex').slice(0, 32);
}
