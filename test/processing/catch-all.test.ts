import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { openEngine, type Engine } from '../helpers/engine.ts';

let engine: Engine;
afterEach(async () => {
  await engine?.close();
});

describe('unknown senders', () => {
  it('are forwarded to internal support by default, as the original product does', async () => {
    engine = await openEngine();
    const { outcome } = await engine.process('unknown-sender.eml');
    expect(outcome).toMatchObject({ action: 'forwarded', code: 'no-match' });
  });

  it('open a flagged ticket under the catch-all account with UNKNOWN_SENDERS=catch-all, and nothing is forwarded', async () => {
    engine = await openEngine({ UNKNOWN_SENDERS: 'catch-all', CATCH_ALL_ACCOUNT_ID: 'GLOBEX' });
    const before = await engine.store.counts();
    const { outcome } = await engine.process('unknown-sender.eml');
    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'catch-all', accountId: 'GLOBEX' });
    expect(outcome.flags).toContain('catch-all');
    expect(outcome.forwardedTo).toEqual([]);
    expect((await engine.store.counts()).tickets).toBe(before.tickets + 1);
    const ticket = await engine.ticket(outcome.ticketNumber!);
    expect(ticket.accountId).toBe('GLOBEX');
    expect(await engine.documents(outcome.ticketNumber!)).toHaveLength(1);
    expect((await engine.sent()).filter((mail) => mail.kind === 'forward')).toEqual([]);
  });

  it('are forwarded with the reason when the catch-all account does not exist', async () => {
    engine = await openEngine({ UNKNOWN_SENDERS: 'catch-all', CATCH_ALL_ACCOUNT_ID: 'NO-SUCH-ACCOUNT' });
    const { outcome } = await engine.process('unknown-sender.eml');
    expect(outcome).toMatchObject({ action: 'forwarded', code: 'catch-all-missing' });
  });

  it('need CATCH_ALL_ACCOUNT_ID with UNKNOWN_SENDERS=catch-all', () => {
    expect(() => loadConfig({ UNKNOWN_SENDERS: 'catch-all' })).toThrow(/CATCH_ALL_ACCOUNT_ID/);
  });
});
