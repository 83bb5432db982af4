import type { CrmRecords } from './ports/crm-records.ts';
import type { OutcomeLog } from './ports/outcome-log.ts';
import type { Outbox } from './ports/outbox.ts';
import type { UnitOfWork } from './ports/unit-of-work.ts';
import type { WorkQueue } from './ports/work-queue.ts';

export type { CrmRecords, StoreCounts } from './ports/crm-records.ts';
export type { OutcomeFilter, OutcomeLog, OutcomeRecord } from './ports/outcome-log.ts';
export type {
  MailFailure,
  NewOutgoingMail,
  Outbox,
  OutgoingCountFilter,
  PendingMail,
  PendingOriginal,
  StoredOriginal,
} from './ports/outbox.ts';
export type {
  NewDocument,
  NewTicket,
  ProcessingCommit,
  TicketHistoryNote,
  UnitOfWork,
} from './ports/unit-of-work.ts';
export type { ClaimOptions, EnqueuedItem, IntakeItem, IntakeState, WorkQueue } from './ports/work-queue.ts';
export { StoreError, type StoreErrorKind } from './store-error.ts';

/** The database cannot be opened or prepared; the message names the path, the problem and the fix. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
}

/** Opening and closing the connection. */
export interface StoreLifecycle {
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The CRM database as the connector needs it: one adapter (crm/sqlite, crm/sqlserver) implements every port.
 * Code that needs one part takes that port (an `OutboxSender` takes the `Outbox`). Every method is asynchronous
 * (SQL Server drivers are), every method that writes several rows does so in one transaction, and a driver's
 * failure reaches the caller as a `StoreError` (transient or permanent). test/crm/crm-store.contract.ts is the
 * behaviour every adapter must show.
 */
export type CrmStore = CrmRecords & OutcomeLog & Outbox & WorkQueue & UnitOfWork & StoreLifecycle;
