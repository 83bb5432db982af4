import { normaliseAddress } from './addresses.ts';
import type { ParsedEmail } from './email.ts';

/**
 * Where an automatic reply goes (RFC 3834 §4): the Return-Path (the envelope sender the receiving server
 * recorded), else From; never Reply-To, which anyone can set to aim the reply at a third party.
 * Null when there is nowhere to send it (a null Return-Path `<>` marks mail that must not be answered).
 */
export function autoReplyRecipient(email: Pick<ParsedEmail, 'headers' | 'from'>): string | null {
  const returnPath = email.headers['return-path']?.trim();
  if (returnPath !== undefined && returnPath !== '') {
    if (/^<\s*>$/.test(returnPath)) return null;
    const address = normaliseAddress(/<([^<>]*)>/.exec(returnPath)?.[1] ?? returnPath);
    if (address) return address;
  }
  return email.from?.address ?? null;
}
