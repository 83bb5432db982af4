import type { XmlApiError } from './xml-api-errors.ts';

/** The data kinds this connector writes; the CRM lists more (see `unsupportedDataKinds`). */
export type XmlDataKind = 'ACCOUNT' | 'TICKET' | 'ASSET' | 'HISTORY-NOTE' | 'CHARGE';

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
      /** The account the record belongs to (the account itself for ACCOUNT). */
      accountId: string;
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
