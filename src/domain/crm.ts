/** CRM records as the connector sees them. Ids are the CRM's record ids (text). */

export interface Account {
  id: string;
  company: string;
  /** The "file as" name that identifies the account in lists and in monitoring alerts. */
  fileAs: string;
  email1: string | null;
  email2: string | null;
  accountNumber: string | null;
  /** An id of this account in another system (RMM, PSA...), matched by automated-email rules. */
  foreignId: string | null;
  /** Free custom fields (name → value); automated-email rules can match any of them. */
  customFields: Record<string, string>;
  contact: string | null;
  phone: string | null;
  address: string | null;
  city: string | null;
  zip: string | null;
  country: string | null;
}

export interface Contact {
  id: string;
  accountId: string;
  name: string;
  email: string | null;
}

export interface Employee {
  id: string;
  name: string;
  email1: string | null;
  email2: string | null;
  active: boolean;
}

export interface Ticket {
  id: string;
  /** Zero-padded ticket number, e.g. `0000042`. */
  number: string;
  accountId: string;
  contactId: string | null;
  subject: string;
  status: string;
  priority: string | null;
  kind: string | null;
  source: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface FiledAttachment {
  filename: string;
  contentType: string;
  size: number;
  /**
   * Which attachment of the filed raw MIME it is (`EmailAttachment.position`): its bytes are read from there.
   * Null for attachments filed by earlier versions, whose bytes were stored apart (`readStoredAttachment`).
   */
  position: number | null;
}

/** A message filed under a ticket (and its account), as listed back. */
export interface FiledDocument {
  id: string;
  ticketId: string;
  accountId: string;
  sender: string;
  recipients: string[];
  date: string;
  subject: string;
  messageId: string | null;
  attachments: FiledAttachment[];
}

/** How an account was found for a sender address. */
export interface AccountMatch {
  account: Account;
  /** Set when a secondary contact's address matched. */
  contactId: string | null;
  via: 'email1' | 'email2' | 'contact';
}
