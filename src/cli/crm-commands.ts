import { readFile, writeFile } from 'node:fs/promises';
import type { CrmStore } from '../crm/crm-store.ts';
import { CrmImportError, parseCrmImport } from '../crm/crm-import.ts';
import { readFiledAttachment } from '../processing/filed-attachments.ts';
import { CliError, type Output } from './output.ts';

/** `crm import FILE.json`: all or nothing; the same ids update, never duplicate. */
export async function importCommand(store: CrmStore, file: string, output: Output): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const before = await store.counts();
    const after = await store.importCrm(parseCrmImport(json));
    output.out(
      `imported ${file}: accounts ${after.accounts} (+${after.accounts - before.accounts}), contacts ${after.contacts} (+${after.contacts - before.contacts}), employees ${after.employees} (+${after.employees - before.employees}), tickets ${after.tickets} (+${after.tickets - before.tickets})`,
    );
  } catch (error) {
    if (error instanceof CrmImportError)
      throw new CliError(`${file}: ${error.message}\nnothing was imported`);
    throw error;
  }
}

/** `ticket NUMBER [--json]`: the ticket, its account and its filed documents. */
export async function ticketCommand(
  store: CrmStore,
  number: string,
  json: boolean,
  output: Output,
): Promise<void> {
  const ticket = await store.findTicketByNumber(number);
  if (!ticket) throw new CliError(`no ticket with number ${number}`);
  const account = await store.findAccountById(ticket.accountId);
  const documents = await store.listDocuments(ticket.id);
  const history = await store.listTicketHistory(ticket.id);
  const view = {
    ticket,
    account,
    history,
    documents: documents.map((document) => ({
      id: document.id,
      sender: document.sender,
      recipients: document.recipients,
      subject: document.subject,
      date: document.date,
      messageId: document.messageId,
      attachments: document.attachments.map((attachment) => attachment.filename),
    })),
  };
  if (json) {
    output.out(JSON.stringify(view, null, 2));
    return;
  }
  output.out(`Ticket ${ticket.number}  [${ticket.status}]  ${ticket.subject}`);
  output.out(`Account ${ticket.accountId}${account ? `  ${account.fileAs || account.company}` : ''}`);
  output.out(`Opened ${ticket.createdAt}, updated ${ticket.updatedAt}`);
  for (const note of history) output.out(`  ${note.date}  ${note.description}`);
  output.out(`${documents.length} document(s)`);
  for (const document of view.documents) {
    const attachments = document.attachments.length > 0 ? `  (${document.attachments.join(', ')})` : '';
    output.out(`  ${document.date}  ${document.sender}  ${document.subject}${attachments}`);
  }
}

/** `attachment NUMBER DOC ATT --out FILE`: a filed attachment's bytes, read back from where they are stored. */
export async function attachmentCommand(
  store: CrmStore,
  which: { number: string; document: string; attachment: string },
  file: string,
  output: Output,
): Promise<void> {
  const ticket = await store.findTicketByNumber(which.number);
  if (!ticket) throw new CliError(`no ticket with number ${which.number}`);
  const documents = await store.listDocuments(ticket.id);
  const ordinal = (text: string, count: number, what: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > count)
      throw new CliError(`${what} ${text} does not exist: ticket ${ticket.number} has ${count}`);
    return value - 1;
  };
  const document = documents[ordinal(which.document, documents.length, 'document')]!;
  const index = ordinal(which.attachment, document.attachments.length, 'attachment');
  const content = await readFiledAttachment(store, document, index);
  if (!content) throw new CliError(`the bytes of attachment ${which.attachment} could not be read back`);
  await writeFile(file, content).catch((error: unknown) => {
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`);
  });
  const attachment = document.attachments[index]!;
  output.out(`saved ${attachment.filename} (${content.length} bytes, ${attachment.contentType}) to ${file}`);
}
