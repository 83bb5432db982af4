import type Database from 'better-sqlite3';
import { nextTicketSequence } from '../../domain/ticket-numbers.ts';

/** Where statements come from: a connection, or a store's cache of the statements it has prepared on one. */
export interface StatementSource {
  prepare(sql: string): Database.Statement;
}

/**
 * Takes the next ticket number inside the caller's transaction: after the highest ticket and the counter
 * (`nextTicketSequence`), recorded in the counter so that it is never handed out again. Both the connector's
 * reservation and an XML API ticket insert number tickets through here.
 */
export function takeNextTicketSequence(db: StatementSource): number {
  const highest = Number(
    (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM tickets').get() as { n: number }).n,
  );
  const counter = db.prepare(`SELECT value FROM counters WHERE name = 'ticket'`).get() as
    { value: number } | undefined;
  const next = nextTicketSequence(highest, counter ? Number(counter.value) : 0);
  db.prepare(
    `INSERT INTO counters (name, value) VALUES ('ticket', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`,
  ).run(next);
  return next;
}
