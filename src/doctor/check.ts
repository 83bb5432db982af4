/** What one check found: fine, a problem with its fix, or not run because it depends on something that failed. */
export type CheckResult =
  | { what: string; status: 'ok'; detail: string | null }
  | { what: string; status: 'fail'; problem: string; fix: string }
  | { what: string; status: 'skip'; why: string };

/** Receives each result as soon as it is known, so that a slow check does not hold back the ones before it. */
export type Report = (result: CheckResult) => void;

export const ok = (what: string, detail: string | null = null): CheckResult => ({
  what,
  status: 'ok',
  detail,
});

export const fail = (what: string, problem: string, fix: string): CheckResult => ({
  what,
  status: 'fail',
  problem,
  fix,
});

export const skip = (what: string, why: string): CheckResult => ({ what, status: 'skip', why });

/** `ok   <what>[: detail]`, `FAIL <what>: <problem> — <fix>` or `skip <what>: <why>`, always one line. */
export function formatCheck(result: CheckResult): string {
  switch (result.status) {
    case 'ok':
      return oneLine(`ok   ${result.what}${result.detail ? `: ${result.detail}` : ''}`);
    case 'fail':
      return oneLine(`FAIL ${result.what}: ${result.problem} — ${result.fix}`);
    case 'skip':
      return oneLine(`skip ${result.what}: ${result.why}`);
  }
}

/** Multi-line messages (configuration and rules errors, SDK errors) joined so that each check stays one line. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ')
    .replace(/:;/g, ':');
}

/** The first line of an error's message (SDK errors append pages of trace ids), at most 300 characters. */
export function causeOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first =
    message
      .split(/\r?\n/)
      .map((line) => line.trim())
      .find(Boolean) ?? 'no message';
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}
