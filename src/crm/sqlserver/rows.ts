import { createHash } from 'node:crypto';

export {
  iso,
  isoOrNull,
  str,
  strOrNull,
  ticketValues,
  toAccount,
  toEmployee,
  toIntake,
  toOutcome,
  toPendingOriginal,
  toTicket,
} from '../record-rows.ts';

/** The longest key an index takes here (nvarchar(450)); see `storedKey`. */
export const maxKeyLength = 450;

/**
 * A message key, Message-ID or thread reference as stored. Nearly all fit; one longer than an index key can be
 * (a Message-ID may run to almost 1000 characters) is stored as its SHA-256, so that it still finds its outcome
 * or its ticket instead of failing the message. Such a record shows the digest in place of the long value.
 */
export function storedKey(value: string): string;
export function storedKey(value: string | null): string | null;
export function storedKey(value: string | null): string | null {
  if (value === null || value.length <= maxKeyLength) return value;
  return `sha256-of-long-key:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}
