import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AccountLookup, AutomatedRule } from '../domain/automated-rules.ts';
import { ConfigError } from './config.ts';

const pattern = z
  .string()
  .min(1)
  .refine(
    (value) => {
      try {
        new RegExp(value, 'i');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be a valid regular expression' },
  );

const lookupSchema = z.discriminatedUnion('by', [
  z.strictObject({ by: z.literal('name'), subjectPattern: pattern.optional() }),
  z.strictObject({
    by: z.literal('foreignId'),
    subjectPattern: pattern.optional(),
    field: z.string().min(1).optional(),
  }),
  z.strictObject({ by: z.literal('recordId'), subjectPattern: pattern.optional() }),
  z.strictObject({ by: z.literal('sender') }),
]);

const ruleSchema = z
  .strictObject({
    name: z.string().trim().min(1),
    from: z.string().trim().min(1).optional(),
    subjectContains: z.string().trim().min(1).optional(),
    skipSubjectContains: z.array(z.string().trim().min(1)).default([]),
    accountLookups: z.array(lookupSchema).default([]),
  })
  .refine((rule) => rule.from !== undefined || rule.subjectContains !== undefined, {
    message: 'needs "from", "subjectContains" or both',
  });

const rulesFileSchema = z.strictObject({ rules: z.array(ruleSchema) });

/** Parses the automated-email rules (docs/automated-rules.md); errors name the rule and field. */
export function parseRules(input: unknown): AutomatedRule[] {
  const result = rulesFileSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ConfigError(`invalid rules file:\n  ${lines.join('\n  ')}`);
  }
  return result.data.rules.map((rule) => ({
    name: rule.name,
    from: rule.from ?? null,
    subjectContains: rule.subjectContains ?? null,
    skipSubjectContains: rule.skipSubjectContains,
    accountLookups: rule.accountLookups.map((lookup): AccountLookup => {
      switch (lookup.by) {
        case 'sender':
          return { by: 'sender' };
        case 'foreignId':
          return {
            by: 'foreignId',
            pattern: lookup.subjectPattern ? new RegExp(lookup.subjectPattern, 'i') : null,
            field: lookup.field ?? null,
          };
        default:
          return {
            by: lookup.by,
            pattern: lookup.subjectPattern ? new RegExp(lookup.subjectPattern, 'i') : null,
          };
      }
    }),
  }));
}

export function loadRulesFile(path: string | null): AutomatedRule[] {
  if (!path) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`RULES_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`RULES_FILE: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseRules(json);
  } catch (error) {
    throw new ConfigError(
      `RULES_FILE: ${path}: ${(error as Error).message.replace(/^invalid rules file:/, 'invalid rules file:')}`,
    );
  }
}
