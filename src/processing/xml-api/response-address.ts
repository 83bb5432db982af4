import addressparser from 'nodemailer/lib/addressparser/index.js';
import { normaliseAddress } from '../../domain/addresses.ts';

/** The one mailbox a `SendResponseToEmail` names (lower-case), or why it names none. */
export type ResponseAddress = { ok: true; address: string } | { ok: false; reason: string };

const notOne = (why: string): ResponseAddress => ({
  ok: false,
  reason: `SendResponseToEmail ${why}; a response goes to exactly one address`,
});

/** One `@`, and nothing a header parser would split, unquote or regroup: the address reads back as itself. */
function isPlainAddress(address: string): boolean {
  const [entry, ...more] = addressparser(address, { flatten: true });
  return more.length === 0 && entry?.address === address && address.indexOf('@') === address.lastIndexOf('@');
}

/**
 * Reads `SendResponseToEmail` as exactly one mailbox, in any form an address header allows
 * (`a@b.example`, `<a@b.example>`, `Partner <a@b.example>`, stray spaces, a stray trailing separator).
 * A list, a group, or anything that is not one plain address names nobody: a response never fans out.
 */
export function readResponseAddress(value: string): ResponseAddress {
  const entries = addressparser(value);
  if (entries.some((entry) => 'group' in entry)) return notOne('is a group');
  if (entries.length > 1) return notOne(`lists ${entries.length} addresses`);
  const [entry] = entries;
  const address = normaliseAddress(entry && 'address' in entry ? entry.address : null);
  if (!entry || !address || !isPlainAddress(address)) return notOne('is not an email address');
  // `a@x.example b@y.example` parses as one mailbox named after another address: two addresses all the same.
  const named = normaliseAddress(entry.name);
  if (named && named !== address) return notOne('names two addresses');
  return { ok: true, address };
}

/** The form compared with the connector's own addresses: case, a `+tag` and a final dot do not matter. */
function ownForm(address: string): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const plus = local.indexOf('+');
  const domain = address.slice(at + 1);
  return `${plus > 0 ? local.slice(0, plus) : local}@${domain.endsWith('.') ? domain.slice(0, -1) : domain}`;
}

/**
 * Whether an address reaches one of the connector's own mailboxes (Exchange delivers `support+x@` to
 * `support@`). Entries of `own` that are not addresses (a mailbox object id) match nothing.
 */
export function isOwnAddress(address: string, own: readonly string[]): boolean {
  const normalised = normaliseAddress(address);
  if (!normalised) return false;
  const form = ownForm(normalised);
  return own.some((candidate) => {
    const mine = normaliseAddress(candidate);
    return mine !== null && ownForm(mine) === form;
  });
}
