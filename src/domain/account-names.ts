import type { Account } from './crm.ts';

const letterOrDigit = /[\p{L}\p{N}]/u;

/** Whether `name` occurs in `text` with no letter or digit right before or after it. Both lower-case. */
function occursAsWholeWords(text: string, name: string): boolean {
  for (let from = 0; ;) {
    const at = text.indexOf(name, from);
    if (at < 0) return false;
    const before = at === 0 ? '' : text[at - 1]!;
    const after = text[at + name.length] ?? '';
    if (!letterOrDigit.test(before) && !letterOrDigit.test(after)) return true;
    from = at + 1;
  }
}

/**
 * The accounts whose "file as" name appears in the text as whole words, any case, longest name first. A longer
 * name that contains a shorter one wins ("Acme Europe" over "Acme"): the alert names the more specific account.
 * `candidates` is what the store found by a plain substring search (`findAccountsNameCandidates`).
 */
export function accountsNamedIn(text: string, candidates: readonly Account[]): Account[] {
  const lowered = text.toLowerCase();
  const named = candidates
    .filter((account) => account.fileAs.length > 0)
    .filter((account) => occursAsWholeWords(lowered, account.fileAs.toLowerCase()))
    .sort((a, b) => b.fileAs.length - a.fileAs.length);
  return named.filter(
    (account) =>
      !named.some(
        (other) =>
          other !== account &&
          other.fileAs.length > account.fileAs.length &&
          other.fileAs.toLowerCase().includes(account.fileAs.toLowerCase()),
      ),
  );
}
