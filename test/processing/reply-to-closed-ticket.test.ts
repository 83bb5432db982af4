import { afterEach, describe, expect, it } from 'vitest';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { internalSupport, openEngine, type Engine } from '../helpers/engine.ts';
import { mail } from '../helpers/mail-factory.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

/** The test CRM plus ticket 0000050 of ACME, completed. */
async function withClosedTicket(settings: Record<string, string>): Promise<Engine> {
  const opened = await openEngine({ STAFF_TRUST: 'none', ...settings });
  await opened.store.importCrm(
    parseCrmImport({
      tickets: [
        {
          number: '0000050',
          accountId: 'ACME',
          contactId: 'ACME-JANE',
          subject: 'Mail quota',
          status: 'Closed',
        },
      ],
    }),
  );
  return opened;
}

const customerReply = (): Buffer =>
  Buffer.from(
    mail({ from: 'Jane Roe <jane@acme.example>', subject: 'RE: [Ticket#0000050] Mail quota full again' }),
  );

describe('a reply to a closed ticket', () => {
  it('reopens the ticket by default, files and forwards the reply, and says so in the history', async () => {
    engine = await withClosedTicket({});
    const { outcome } = await engine.process(customerReply());
    expect(outcome).toMatchObject({ action: 'filed', code: 'customer-reply', ticketNumber: '0000050' });
    expect(outcome.flags).toContain('reopened');
    expect(outcome.reason).toContain('reopened');
    expect(outcome.forwardedTo).toEqual([internalSupport]);
    const ticket = await engine.ticket('0000050');
    expect(ticket.status).toBe('open');
    expect(await engine.documents('0000050')).toHaveLength(1);
    const history = await engine.store.listTicketHistory(ticket.id);
    expect(history.map((note) => note.description)).toEqual([
      'Reopened (was Closed): jane@acme.example replied',
    ]);
  });

  it('opens a follow-up ticket linked to it with REPLY_TO_CLOSED_TICKET=follow-up', async () => {
    engine = await withClosedTicket({ REPLY_TO_CLOSED_TICKET: 'follow-up', AUTO_ACK: 'true' });
    const { outcome } = await engine.process(customerReply());
    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'follow-up', accountId: 'ACME' });
    expect(outcome.flags).toContain('follow-up-of:0000050');
    const followUp = await engine.ticket(outcome.ticketNumber!);
    expect(followUp).toMatchObject({ accountId: 'ACME', contactId: 'ACME-JANE', status: 'open' });
    expect(await engine.documents(outcome.ticketNumber!)).toHaveLength(1);
    const closed = await engine.ticket('0000050');
    expect(closed.status).toBe('Closed');
    expect(await engine.documents('0000050')).toHaveLength(0);
    expect((await engine.store.listTicketHistory(closed.id)).map((n) => n.description)).toEqual([
      `A reply from jane@acme.example opened follow-up ticket ${outcome.ticketNumber}`,
    ]);
    expect((await engine.store.listTicketHistory(followUp.id)).map((n) => n.description)).toEqual([
      'Follow-up of closed ticket 0000050: jane@acme.example replied to it',
    ]);
    const [ack] = await engine.sent();
    expect(ack).toMatchObject({ kind: 'ack', to: ['jane@acme.example'] });
    expect(ack!.subject).toContain(`[Ticket#${outcome.ticketNumber}]`);
  });

  it('only files it (and forwards it) with REPLY_TO_CLOSED_TICKET=file', async () => {
    engine = await withClosedTicket({ REPLY_TO_CLOSED_TICKET: 'file' });
    const { outcome } = await engine.process(customerReply());
    expect(outcome).toMatchObject({ action: 'filed', code: 'customer-reply', ticketNumber: '0000050' });
    expect(outcome.flags).toContain('closed-ticket');
    expect(outcome.forwardedTo).toEqual([internalSupport]);
    const ticket = await engine.ticket('0000050');
    expect(ticket.status).toBe('Closed');
    expect(await engine.store.listTicketHistory(ticket.id)).toEqual([]);
  });

  it('never reopens for an employee’s reply', async () => {
    engine = await withClosedTicket({});
    const { outcome } = await engine.process(
      Buffer.from(mail({ from: 'Tom Tech <tom@msp.example>', subject: 'RE: [Ticket#0000050] Mail quota' })),
    );
    expect(outcome).toMatchObject({ action: 'filed', code: 'employee-reply', forwardedTo: [] });
    expect(outcome.flags).not.toContain('reopened');
    expect((await engine.ticket('0000050')).status).toBe('Closed');
  });

  it('does not reopen for a stranger who quotes the ticket number', async () => {
    engine = await withClosedTicket({});
    const { outcome } = await engine.process(
      Buffer.from(mail({ from: 'mallory@evil.example', subject: 'RE: [Ticket#0000050] Mail quota' })),
    );
    expect(outcome.flags).toEqual(expect.arrayContaining(['unrelated-sender', 'closed-ticket']));
    expect((await engine.ticket('0000050')).status).toBe('Closed');
  });
});
