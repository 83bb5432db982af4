import type { Account, AccountMatch, Employee, FiledDocument, Ticket } from '../../domain/crm.ts';
import type { ValidatedXmlTransaction, XmlTransactionResult } from '../../domain/xml-api/xml-transaction.ts';
import type { CrmImport } from '../crm-import.ts';

export interface StoreCounts {
  accounts: number;
  contacts: number;
  employees: number;
  tickets: number;
  documents: number;
  outcomes: number;
}

/**
 * The CRM's own records: look-ups for the decision, the import, ticket numbers and the XML API. Look-ups return
 * what the database holds; choosing among the results is the domain's (see `domain/account-names.ts`,
 * `domain/employees.ts`).
 */
export interface CrmRecords {
  /** Accounts whose Email1, Email2 or a contact's email is the address. An index seek. */
  findAccountsByAddress(address: string): Promise<AccountMatch[]>;
  /** Accounts whose Email1, Email2 or a contact's email is the bare domain, by id. An index seek. */
  findAccountsByDomain(domain: string): Promise<Account[]>;
  findAccountById(id: string): Promise<Account | null>;
  findAccountsByIds(ids: readonly string[]): Promise<Account[]>;
  /** Accounts whose "file as" name is the name, any case. */
  findAccountsByName(name: string): Promise<Account[]>;
  /**
   * Accounts whose non-empty "file as" name occurs anywhere in the text, any case: candidates only, the
   * whole-word test is `accountsNamedIn` (domain/account-names.ts).
   */
  findAccountsNameCandidates(text: string): Promise<Account[]>;
  /** Accounts whose foreign id (or the named custom field) equals one of the values. */
  findAccountsByForeignId(values: readonly string[], field: string | null): Promise<Account[]>;
  /** Every employee whose Email1 or Email2 is the address, active or not (`pickEmployee` chooses). */
  findEmployeesByAddress(address: string): Promise<Employee[]>;
  /** The ticket with this number, however it is padded; null for anything that is not a number. */
  findTicketByNumber(number: string): Promise<Ticket | null>;
  /** The ticket a reply belongs to, by Message-IDs the connector filed or sent, then by reference tokens. */
  findTicketByThread(
    messageIds: readonly string[],
    tokens: readonly string[],
  ): Promise<{ ticket: Ticket; via: 'message-id' | 'reference-token' } | null>;
  listDocuments(ticketId: string): Promise<FiledDocument[]>;
  /** A ticket's history notes, oldest first. */
  listTicketHistory(ticketId: string): Promise<{ date: string; description: string }[]>;
  /** The original MIME of a filed document. */
  readDocumentRaw(documentId: string): Promise<Buffer | null>;
  /**
   * The bytes of the `index`-th attachment of a document as stored apart from its raw MIME, for attachments
   * filed before they were read from it (`FiledAttachment.position` null). Null when there is no such row.
   */
  readStoredAttachment(documentId: string, index: number): Promise<Buffer | null>;

  /** Loads accounts, contacts, employees and tickets: all or nothing, idempotent on ids. */
  importCrm(data: CrmImport): Promise<StoreCounts>;
  counts(): Promise<StoreCounts>;
  /**
   * Takes the next ticket number (`nextTicketSequence`, domain/ticket-numbers.ts). Numbers are never reused; a
   * crash before the commit leaves a gap.
   */
  reserveTicketNumber(digits: number): Promise<string>;
  /**
   * Applies one validated XML transaction in one database transaction (all or nothing), as
   * domain/xml-api/record-checks.ts plans it: insert when it names no record id, else update (RECORD_NOT_FOUND
   * when there is no such record, nothing written). A new ticket gets the next ticket number; `author` is
   * recorded as the creator or updater. The result is stored under `key` (message key + transaction index):
   * called again with the same key, it returns the stored result and writes nothing.
   */
  applyXmlTransaction(
    key: string,
    transaction: ValidatedXmlTransaction,
    author: string,
  ): Promise<XmlTransactionResult>;
}
