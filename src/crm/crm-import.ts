import { z } from 'zod';
import { classifyEmailField } from '../domain/addresses.ts';

const text = z.string().trim().min(1, 'must not be empty');
const optionalText = z
  .string()
  .trim()
  .nullish()
  .transform((value) => value || null);
/** A CRM email field: empty, a full address, or a bare domain (`acme.example`) that matches a whole domain. */
const emailField = z
  .string()
  .nullish()
  .refine((value) => !value || !value.trim() || classifyEmailField(value) !== null, {
    message: 'must be an email address or a bare domain such as acme.example',
  })
  .transform((value) => (value && value.trim() ? value.trim() : null));
const contactSchema = z.strictObject({
  id: optionalText,
  name: text,
  email: emailField,
});

const accountSchema = z.strictObject({
  id: text,
  company: text,
  fileAs: optionalText,
  email1: emailField,
  email2: emailField,
  accountNumber: optionalText,
  foreignId: optionalText,
  customFields: z.record(z.string(), z.string()).nullish(),
  contact: optionalText,
  phone: optionalText,
  address: optionalText,
  city: optionalText,
  zip: optionalText,
  country: optionalText,
  contacts: z.array(contactSchema).nullish(),
});

const employeeSchema = z.strictObject({
  id: text,
  name: text,
  email1: emailField,
  email2: emailField,
  active: z.boolean().default(true),
});

const ticketSchema = z.strictObject({
  id: optionalText,
  number: z
    .string()
    .trim()
    .regex(/^\d{1,18}$/, 'must be digits only, e.g. "0000042"'),
  accountId: text,
  contactId: optionalText,
  subject: text,
  status: z.string().trim().min(1).default('open'),
  priority: optionalText,
  kind: optionalText,
  source: optionalText,
});

export const crmImportSchema = z.strictObject({
  accounts: z.array(accountSchema).default([]),
  employees: z.array(employeeSchema).default([]),
  tickets: z.array(ticketSchema).default([]),
});

export type CrmImport = z.output<typeof crmImportSchema>;
export type CrmImportAccount = CrmImport['accounts'][number];

export class CrmImportError extends Error {
  override name = 'CrmImportError';
}

/** Where an issue points, as a reader sees it: `accounts[0] (id "ACME").email1`. */
function describePath(input: unknown, path: readonly PropertyKey[]): string {
  let node: unknown = input;
  let described = '';
  path.forEach((segment, index) => {
    if (typeof segment === 'number') {
      node = Array.isArray(node) ? node[segment] : undefined;
      const id = node && typeof node === 'object' ? (node as Record<string, unknown>).id : undefined;
      const number = node && typeof node === 'object' ? (node as Record<string, unknown>).number : undefined;
      const label =
        typeof id === 'string' ? ` (id "${id}")` : typeof number === 'string' ? ` (number "${number}")` : '';
      described += `[${segment}]${label}`;
    } else {
      node =
        node && typeof node === 'object' ? (node as Record<string, unknown>)[String(segment)] : undefined;
      described += `${index === 0 ? '' : '.'}${String(segment)}`;
    }
  });
  return described || '(file)';
}

/** Validates an import file's content; the error names the record and field of every problem. */
export function parseCrmImport(input: unknown): CrmImport {
  const result = crmImportSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${describePath(input, issue.path)}: ${issue.message}`,
    );
    throw new CrmImportError(`invalid import file:\n  ${problems.join('\n  ')}`);
  }
  const data = result.data;
  const accountIds = new Set(data.accounts.map((account) => account.id));
  const problems: string[] = [];
  const seen = new Set<string>();
  data.accounts.forEach((account, index) => {
    if (seen.has(account.id))
      problems.push(`accounts[${index}] (id "${account.id}").id: appears twice in the file`);
    seen.add(account.id);
  });
  const numbers = new Set<string>();
  data.tickets.forEach((ticket, index) => {
    const where = `tickets[${index}] (number "${ticket.number}")`;
    if (numbers.has(ticket.number)) problems.push(`${where}.number: appears twice in the file`);
    numbers.add(ticket.number);
    if (!accountIds.has(ticket.accountId)) {
      // Allowed when the account is already in the database; the store checks that.
      return;
    }
  });
  if (problems.length > 0) throw new CrmImportError(`invalid import file:\n  ${problems.join('\n  ')}`);
  return data;
}
