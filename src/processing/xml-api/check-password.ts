import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether the transaction's password is the configured one. Both sides are hashed first so that the
 * comparison takes the same time whatever the lengths, and a missing password never matches.
 */
export function passwordMatches(given: string | null, expected: string): boolean {
  const same = timingSafeEqual(digest(given ?? ''), digest(expected));
  return same && given !== null;
}
