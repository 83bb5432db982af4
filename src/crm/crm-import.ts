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

/**
 * The highest ticket number an import accepts: fifteen digits. New tickets are numbered after the highest one,
 * and the connector counts exactly only up to Number.MAX_SAFE_INTEGER (sixteen digits); beyond it two numbers
 * would collapse into one and every later ticket would collide with an existing one.
 */
export const maxImportedTicketNumber = 999_999_999_999_999;

/** The number without its leading zeros: `0005` and `5` are the same ticket. */
export function significantTicketDigits(number: string): string {
  return number.replace(/^0+(?=\d)/, '');
}

const ticketSchema = z.strictObject({
  id: optionalText,
  number: z
    .string()
    .trim()
    .regex(/^\d{1,18}$/, 'must be digits only, e.g. "0000042"')
    .refine(
      (number) =>
        !/^\d{1,18}$/.test(number) ||
        significantTicketDigits(number).length <= String(maxImportedTicketNumber).length,
      {
        message: `must be at most ${maxImportedTicketNumber} (15 digits): new tickets are numbered after the highest one and the connector cannot count beyond 16 digits`,
      },
    ),
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
export type CrmImportTicket = CrmImport['tickets'][number];

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

/** A ticket of the file as a reader finds it: `tickets[1] (id "T-2", number "0005")`. */
export function describeTicket(tickets: readonly CrmImportTicket[], index: number): string {
  const ticket = tickets[index]!;
  const id = ticket.id === null ? '' : `id "${ticket.id}", `;
  return `tickets[${index}] (${id}number "${ticket.number}")`;
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
  const problems: string[] = [];
  const seen = new Set<string>();
  data.accounts.forEach((account, index) => {
    if (seen.has(account.id))
      problems.push(`accounts[${index}] (id "${account.id}").id: appears twice in the file`);
    seen.add(account.id);
  });
  const employeeIds = new Set<string>();
  data.employees.forEach((employee, index) => {
    if (employeeIds.has(employee.id))
      problems.push(`employees[${index}] (id "${employee.id}").id: appears twice in the file`);
    employeeIds.add(employee.id);
  });
  // Keyed by the number without leading zeros: `5` and `0005` would otherwise be merged into one ticket silently.
  const byNumber = new Map<string, number>();
  const byId = new Map<string, number>();
  data.tickets.forEach((ticket, index) => {
    const where = describeTicket(data.tickets, index);
    const significant = significantTicketDigits(ticket.number);
    const sameNumber = byNumber.get(significant);
    if (sameNumber !== undefined) {
      problems.push(
        `${where}.number: the same ticket number as ${describeTicket(data.tickets, sameNumber)} (leading zeros do not count)`,
      );
    } else byNumber.set(significant, index);
    if (ticket.id !== null) {
      const sameId = byId.get(ticket.id);
      if (sameId !== undefined)
        problems.push(`${where}.id: the same id as ${describeTicket(data.tickets, sameId)}`);
      else byId.set(ticket.id, index);
    }
  });
  if (problems.length > 0) throw new CrmImportError(`invalid import file:\n  ${problems.join('\n  ')}`);
  return data;
}

/** The record id a ticket gets when the import file gives none. */
export const defaultTicketId = (number: string): string => `TKT-${number}`;

/**
 * Which record id an imported ticket takes, or why it cannot be imported; the rule every store adapter applies.
 * `existing` is the database's ticket with the same number; `defaultIdHolder` the database's ticket that already
 * has the default id (looked up only when the file gives no id and the number is new); `idsInFile` the ids taken
 * by the file's earlier tickets, updated here.
 */
export function importedTicketId(input: {
  tickets: CrmImport['tickets'];
  index: number;
  existing: { id: string; number: string } | null;
  defaultIdHolder: { number: string } | null;
  idsInFile: Map<string, number>;
}): string {
  const { tickets, index, existing, idsInFile } = input;
  const ticket = tickets[index]!;
  const where = describeTicket(tickets, index);
  const id = ticket.id ?? existing?.id ?? defaultTicketId(ticket.number);
  if (existing && existing.id !== id) {
    throw new CrmImportError(
      `${where}.number: the database already has this number on ticket "${existing.id}" (number "${existing.number}"); give that id to update it, or use another number`,
    );
  }
  // The default id must not take over (and renumber) a ticket that already has it.
  if (!existing && ticket.id === null && input.defaultIdHolder) {
    throw new CrmImportError(
      `${where}.id: the default id "${id}" belongs to ticket number "${input.defaultIdHolder.number}" in the database; give this ticket an id of its own`,
    );
  }
  const earlier = idsInFile.get(id);
  if (earlier !== undefined) {
    throw new CrmImportError(
      `${where}.id: "${id}" is also the id of ${describeTicket(tickets, earlier)} in this file`,
    );
  }
  idsInFile.set(id, index);
  return id;
}
