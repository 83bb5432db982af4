import type { XmlApiError } from './xml-api-errors.ts';

/** The data kinds of the CRM's XML API, in the order of its entity codes (10 … 100). */
export const xmlDataKindNames = [
  'ACCOUNT',
  'OPPORTUNITY',
  'DOCUMENT',
  'CHARGE',
  'APPOINTMENT-OR-TASK',
  'HISTORY-NOTE',
  'TICKET',
  'ITEM',
  'ASSET',
  'KBARTICLE',
] as const;

export type XmlDataKind = (typeof xmlDataKindNames)[number];

export type XmlOperation = 'insert' | 'update';

/** A column value after validation: text kept exactly as written, flags as 0/1, null clears a column. */
export type XmlColumnValue = string | number | null;

/**
 * One transaction that passed every check that needs no database: known data kind and fields, required
 * fields present, values well-formed. The store checks the rest (record and linked records exist).
 */
export interface ValidatedXmlTransaction {
  dataKind: XmlDataKind;
  operation: XmlOperation;
  /** The record to update, or the id a new record gets. */
  recordId: string;
  /** Column name → value, only the columns the transaction names (see `data-kinds.ts`). */
  values: Readonly<Record<string, XmlColumnValue>>;
  /** Zero-padding of a new ticket's number (TICKET_NUMBER_DIGITS). */
  ticketNumberDigits: number;
}

export type XmlTransactionResult =
  | {
      status: 'success';
      dataKind: XmlDataKind;
      operation: XmlOperation;
      recordId: string;
      /** The account the record belongs to (the account itself for ACCOUNT); null when it has none (ITEM). */
      accountId: string | null;
      /** Set for TICKET: the new or updated ticket's number. */
      ticketNumber: string | null;
    }
  | {
      status: 'failure';
      dataKind: XmlDataKind;
      operation: XmlOperation;
      recordId: string | null;
      errors: XmlApiError[];
    };
