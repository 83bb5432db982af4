import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CrmImportError, parseCrmImport } from '../../src/crm/crm-import.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { openEngine } from '../helpers/engine.ts';
import { mail } from '../helpers/mail-factory.ts';

const acme = { id: 'ACME', company: 'Acme Ltd', email1: 'info@acme.example' };
const ticket = (number: string, extra: Record<string, unknown> = {}) => ({
  number,
  accountId: 'ACME',
  subject: `Ticket ${number}`,
  ...extra,
});

/** The import error message, or a failure when the file was accepted. */
async function importError(store: SqliteCrmStore, input: unknown): Promise<string> {
  try {
    await store.importCrm(parseCrmImport(input));
  } catch (error) {
    expect(error).toBeInstanceOf(CrmImportError);
    return (error as Error).message;
  }
  throw new Error('the import was accepted');
}

describe('CRM import: ticket numbers that collide', () => {
  let dir: string;
  let store: SqliteCrmStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-import-edges-'));
    store = SqliteCrmStore.open({ path: join(dir, 'crm.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects 5 and 0005 in one file as the same ticket, naming both records, and imports nothing', async () => {
    const message = await importError(store, {
      accounts: [acme],
      tickets: [ticket('5', { id: 'T-A' }), ticket('0005', { id: 'T-B' })],
    });
    expect(message).toContain(
      'tickets[1] (id "T-B", number "0005").number: the same ticket number as tickets[0] (id "T-A", number "5")',
    );
    expect(await store.counts()).toMatchObject({ accounts: 0, tickets: 0 });
  });

  it('rejects 5 and 0005 without ids too, instead of merging them into one ticket', async () => {
    const message = await importError(store, { accounts: [acme], tickets: [ticket('5'), ticket('0005')] });
    expect(message).toContain(
      'tickets[1] (number "0005").number: the same ticket number as tickets[0] (number "5")',
    );
    expect(await store.counts()).toMatchObject({ accounts: 0, tickets: 0 });
  });

  it('rejects a number the database has under another id, naming both tickets, and imports nothing', async () => {
    await store.importCrm(
      parseCrmImport({ accounts: [acme], tickets: [ticket('0000005', { id: 'T-OLD' })] }),
    );
    const message = await importError(store, {
      accounts: [{ id: 'BETA', company: 'Beta', email1: 'it@beta.example' }],
      tickets: [ticket('5', { id: 'T-NEW' })],
    });
    expect(message).toContain('tickets[0] (id "T-NEW", number "5").number');
    expect(message).toContain('ticket "T-OLD" (number "0000005")');
    expect(await store.counts()).toMatchObject({ accounts: 1, tickets: 1 });
    expect(await store.findAccountById('BETA')).toBeNull();
  });

  it('updates the ticket the database has under that number when the file gives no id', async () => {
    await store.importCrm(
      parseCrmImport({ accounts: [acme], tickets: [ticket('0000005', { id: 'T-OLD' })] }),
    );
    await store.importCrm(parseCrmImport({ tickets: [ticket('5', { status: 'closed' })] }));
    expect(await store.findTicketByNumber('0000005')).toMatchObject({ id: 'T-OLD', status: 'closed' });
    expect((await store.counts()).tickets).toBe(1);
  });

  it('rejects a ticket whose id another ticket of the file already has, instead of renumbering it', async () => {
    // The first ticket's id defaults to TKT-5; the second would take it over and move it to number 6.
    const message = await importError(store, {
      accounts: [acme],
      tickets: [ticket('5'), ticket('6', { id: 'TKT-5' })],
    });
    expect(message).toContain(
      'tickets[1] (id "TKT-5", number "6").id: "TKT-5" is also the id of tickets[0] (number "5")',
    );
    expect(await store.counts()).toMatchObject({ accounts: 0, tickets: 0 });
  });

  it('rejects a ticket id or an employee id given twice in one file, instead of keeping the last silently', () => {
    const twice = () =>
      parseCrmImport({
        accounts: [acme],
        employees: [
          { id: 'TOM', name: 'Tom', email1: 'tom@msp.example' },
          { id: 'TOM', name: 'Thomas', email1: 'thomas@msp.example' },
        ],
        tickets: [ticket('5', { id: 'T-A' }), ticket('6', { id: 'T-A' })],
      });
    expect(twice).toThrow('employees[1] (id "TOM").id: appears twice in the file');
    expect(twice).toThrow(
      'tickets[1] (id "T-A", number "6").id: the same id as tickets[0] (id "T-A", number "5")',
    );
  });

  it('rejects a default id that the database already uses for another number', async () => {
    await store.importCrm(parseCrmImport({ accounts: [acme], tickets: [ticket('7', { id: 'TKT-5' })] }));
    const message = await importError(store, { tickets: [ticket('5')] });
    expect(message).toContain(
      'tickets[0] (number "5").id: the default id "TKT-5" belongs to ticket number "7"',
    );
    expect(await store.findTicketByNumber('7')).toMatchObject({ id: 'TKT-5' });
  });
});

describe('CRM import: the largest ticket numbers', () => {
  it.each([
    ['the configured width of 7', '7', '9999999', ['10000000', '10000001', '10000002']],
    ['the largest width of 12', '12', '999999999999', ['1000000000000', '1000000000001', '1000000000002']],
    [
      'the largest number an import accepts',
      '7',
      '999999999999999',
      ['1000000000000000', '1000000000000001', '1000000000000002'],
    ],
  ])(
    'keeps opening tickets with new numbers after an imported ticket at %s, and replies thread to them',
    async (_case, digits, imported, expected) => {
      const engine = await openEngine({ TICKET_NUMBER_DIGITS: digits });
      try {
        await engine.store.importCrm(parseCrmImport({ tickets: [ticket(imported)] }));
        const opened: (string | null)[] = [];
        for (const subject of ['Printer', 'Scanner', 'Laptop']) {
          const result = await engine.process(Buffer.from(mail({ from: 'jane@acme.example', subject })));
          expect(result.outcome.action).toBe('ticket-created');
          opened.push(result.outcome.ticketNumber);
        }
        expect(opened).toEqual(expected);

        // The acknowledgment's tag is wider than the configured width: a reply still finds its ticket,
        // with the brackets and without them.
        const ack = (await engine.sent()).find((sent) => sent.subject.includes('Scanner'));
        expect(ack?.subject).toContain(`[Ticket#${expected[1]}]`);
        const reply = await engine.process(
          Buffer.from(mail({ from: 'jane@acme.example', subject: `RE: ${ack!.subject}` })),
        );
        expect(reply.outcome).toMatchObject({ action: 'filed', ticketNumber: expected[1] });
        const bare = await engine.process(
          Buffer.from(mail({ from: 'jane@acme.example', subject: `AW: Ticket#${expected[2]} Laptop` })),
        );
        expect(bare.outcome).toMatchObject({ action: 'filed', ticketNumber: expected[2] });
      } finally {
        await engine.close();
      }
    },
  );

  it.each([
    ['sixteen digits', '1000000000000000'],
    ['a number beyond the largest exact integer', '99999999999999999'],
    ['eighteen digits', '999999999999999999'],
  ])('refuses a ticket number of %s, which later tickets could not be numbered after', (_case, number) => {
    expect(() => parseCrmImport({ accounts: [acme], tickets: [ticket(number)] })).toThrow(
      new RegExp(
        `tickets\\[0\\] \\(number "${number}"\\)\\.number: must be at most 999999999999999 \\(15 digits\\)`,
      ),
    );
  });

  it('accepts leading zeros in front of the largest number', () => {
    expect(parseCrmImport({ tickets: [ticket('000999999999999999')] }).tickets).toHaveLength(1);
  });

  it('explains, instead of colliding, when a database already holds a number it cannot count past', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crm-import-edges-'));
    const path = join(dir, 'crm.sqlite');
    try {
      const store = SqliteCrmStore.open({ path });
      await store.importCrm(parseCrmImport({ accounts: [acme], tickets: [ticket('42')] }));
      // A database written before the import refused such numbers.
      const db = new Database(path);
      db.prepare(`UPDATE tickets SET seq = ?, number = ? WHERE seq = 42`).run(
        BigInt('99999999999999999'),
        '99999999999999999',
      );
      db.close();
      await expect(store.reserveTicketNumber(7)).rejects.toThrow(
        /cannot number a new ticket: the highest ticket number .* has reached 9007199254740991/,
      );
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
