/**
 * How a parameter is sent. Every statement declares each of its parameters, so that no value's type is guessed
 * from the value (a JavaScript Date would otherwise go as `datetime`, a whole number as `int`).
 * - `text`: nvarchar(4000), or nvarchar(max) for a longer value: at most two plan-cache entries per statement
 * - `int`, `bigint`, `bit`; `time`: datetime2(3), UTC; `binary`: varbinary(max)
 */
export type ParamKind = 'text' | 'int' | 'bigint' | 'bit' | 'time' | 'binary';

/** One T-SQL statement (or batch) with the parameters it uses, by name without the `@`. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: Readonly<Record<string, ParamKind>>;
}

/** Values by parameter name; exactly the declared ones. */
export type SqlValues = Readonly<Record<string, unknown>>;

export function sql(text: string, params: Record<string, ParamKind> = {}): SqlStatement {
  return Object.freeze({ sql: text.trim(), params: Object.freeze({ ...params }) });
}

/** The parameter names a statement's text uses (`@name`), skipping strings, bracketed names and comments. */
export function parameterNamesIn(text: string): string[] {
  const names = new Set<string>();
  const declared = new Set<string>();
  const pattern = /'(?:[^']|'')*'|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\/|@@\w+|DECLARE\s+@(\w+)|@(\w+)/gi;
  for (const match of text.matchAll(pattern)) {
    if (match[1]) declared.add(match[1].toLowerCase());
    else if (match[2]) names.add(match[2]);
  }
  // Local variables a batch declares itself are not parameters.
  return [...names].filter((name) => !declared.has(name.toLowerCase()));
}
