import { nextTicketSequence } from '../../domain/ticket-numbers.ts';
import type { SqlExecutor } from './sql-database.ts';
import { sqlStatements } from './statements.ts';

/**
 * Takes the next ticket number inside the caller's transaction: the counter row is read with UPDLOCK, HOLDLOCK,
 * so every other instance taking a number waits here until this transaction ends; the number follows the highest
 * ticket and the counter (`nextTicketSequence`) and is written back to the counter. Both the connector's
 * reservation and an XML API ticket insert number tickets through here.
 */
export async function takeNextTicketSequence(tx: SqlExecutor): Promise<number> {
  const counter = await tx.row(sqlStatements.ticketCounterLocked);
  const highest = await tx.row(sqlStatements.highestTicketSeq);
  const next = nextTicketSequence(Number(highest?.highest ?? 0), counter ? Number(counter.value) : 0);
  // The migration creates the row; a database where someone removed it gets it back (the lock above covers the
  // empty key range, so a second instance cannot insert it meanwhile).
  if (counter) await tx.run(sqlStatements.updateTicketCounter, { value: next });
  else await tx.run(sqlStatements.insertTicketCounter, { value: next });
  return next;
}
