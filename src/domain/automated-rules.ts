import type { EmailAddress } from './email.ts';

/** How an automated-email rule finds the account an alert is about. */
export type AccountLookup =
  | { by: 'name'; pattern: RegExp | null }
  | { by: 'foreignId'; pattern: RegExp | null; field: string | null }
  | { by: 'recordId'; pattern: RegExp | null }
  | { by: 'sender' };

/** One automated-email rule (see docs/automated-rules.md). */
export interface AutomatedRule {
  name: string;
  /** Sender address (exact, case-insensitive) or `@domain`; null = any sender. */
  from: string | null;
  /** Phrase that must appear in the subject (case-insensitive); null = any subject. */
  subjectContains: string | null;
  /** Phrases that, in a detected message's subject, mean: forward untouched, no ticket. */
  skipSubjectContains: string[];
  /** Tried in order until one finds exactly one account. Empty = forward with the reason. */
  accountLookups: AccountLookup[];
}

export interface RuleDetection {
  rule: AutomatedRule;
  /** The skip phrase found in the subject, when there is one. */
  skipPhrase: string | null;
}

function senderMatches(expected: string, from: EmailAddress | null): boolean {
  if (!from) return false;
  const wanted = expected.trim().toLowerCase();
  return wanted.startsWith('@') ? from.address.endsWith(wanted) : from.address === wanted;
}

function containsPhrase(subject: string, phrase: string): boolean {
  return subject.toLowerCase().includes(phrase.trim().toLowerCase());
}

/** The first rule (in configured order) that detects the message, or null. Both criteria must hold when both are set. */
export function detectAutomatedMail(
  rules: readonly AutomatedRule[],
  from: EmailAddress | null,
  subject: string,
): RuleDetection | null {
  for (const rule of rules) {
    if (rule.from === null && rule.subjectContains === null) continue;
    if (rule.from !== null && !senderMatches(rule.from, from)) continue;
    if (rule.subjectContains !== null && !containsPhrase(subject, rule.subjectContains)) continue;
    const skipPhrase = rule.skipSubjectContains.find((phrase) => containsPhrase(subject, phrase)) ?? null;
    return { rule, skipPhrase };
  }
  return null;
}

/**
 * The candidate values a lookup reads from the subject: the pattern's first group when a pattern is
 * given, else (for ids) every word-like token of the subject. Names without a pattern are matched by
 * the store against the whole subject.
 */
export function subjectCandidates(
  lookup: Exclude<AccountLookup, { by: 'sender' }>,
  subject: string,
): string[] {
  if (lookup.pattern) {
    const match = lookup.pattern.exec(subject);
    const value = (match?.[1] ?? match?.[0] ?? '').trim();
    return value ? [value] : [];
  }
  if (lookup.by === 'name') return [];
  const tokens = subject.match(/[\p{L}\p{N}][\p{L}\p{N}_.:/-]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu) ?? [];
  return [...new Set(tokens)].slice(0, 64);
}
