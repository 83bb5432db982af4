import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { processDeps } from '../../src/composition-root.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { internalSupport, openEngine, silentLogger, type Engine } from '../helpers/engine.ts';

let engine: Engine;
afterEach(async () => {
  await engine?.close();
});

describe('mail from staff is believed only on Exchange Online’s evidence (STAFF_TRUST=exchange)', () => {
  it('files a reply sent from inside the tenant without a forward', async () => {
    engine = await openEngine({ STAFF_TRUST: 'exchange' });
    const { outcome } = await engine.process('staff/employee-reply-internal.eml');
    expect(outcome).toMatchObject({ action: 'filed', code: 'employee-reply', ticketNumber: '0000042' });
    expect(outcome.flags).toEqual([]);
    expect(await engine.sent()).toEqual([]);
  });

  it('files a reply that passed DMARC for the staff domain without a forward', async () => {
    engine = await openEngine({ STAFF_TRUST: 'exchange' });
    const { outcome } = await engine.process('staff/employee-reply-dmarc-pass.eml');
    expect(outcome).toMatchObject({ action: 'filed', code: 'employee-reply' });
    expect(await engine.sent()).toEqual([]);
  });

  it('takes the customer path for a forged employee reply: filed, forwarded and flagged', async () => {
    engine = await openEngine({ STAFF_TRUST: 'exchange' });
    const { outcome } = await engine.process('staff/forged-employee-reply.eml');
    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'unauthenticated-staff-reply',
      ticketNumber: '0000042',
    });
    expect(outcome.flags).toContain('unauthenticated-staff');
    // Only Exchange's own (top) stamp counts: the sender's own "dmarc=pass" and AuthAs below it do not.
    expect(outcome.reason).toMatch(/dmarc=fail/);
    const [forward] = await engine.sent();
    expect(forward).toMatchObject({ kind: 'forward', to: [internalSupport] });
    expect(forward!.subject).toContain('unauthenticated staff address');
  });

  it('does not take an unproven internal support address as staff', async () => {
    engine = await openEngine({ STAFF_TRUST: 'exchange' });
    const { outcome } = await engine.process('staff/forged-internal-support.eml');
    expect(outcome).toMatchObject({ action: 'filed', code: 'unauthenticated-staff-reply' });
    expect(outcome.flags).toContain('unauthenticated-staff');
    expect(await engine.sent()).toHaveLength(1);
  });

  it('treats a staff reply without any Exchange stamp (not received through Exchange) as unproven', async () => {
    engine = await openEngine({ STAFF_TRUST: 'exchange' });
    const { outcome } = await engine.process('reply-employee-bcc.eml');
    expect(outcome).toMatchObject({ code: 'unauthenticated-staff-reply' });
    expect(outcome.reason).toContain('no Exchange Online stamps');
  });

  it('believes the From header with STAFF_TRUST=none (the local folder)', async () => {
    engine = await openEngine({ STAFF_TRUST: 'none' });
    const { outcome } = await engine.process('staff/forged-employee-reply.eml');
    expect(outcome).toMatchObject({ action: 'filed', code: 'employee-reply' });
  });

  it('defaults to exchange with Microsoft Graph and to none with the local folder', async () => {
    const store = SqliteCrmStore.open({ path: ':memory:' });
    const base = { DATABASE_URL: 'sqlite:unused.sqlite' };
    const graph = {
      ...base,
      SUPPORT_MAILBOX: 'support@msp.example',
      PUBLIC_BASE_URL: 'https://connector.example',
      GRAPH_CLIENT_STATE: 'x'.repeat(40),
    };
    expect(processDeps(loadConfig(base), store, silentLogger()).settings.staffTrust).toBe('none');
    expect(processDeps(loadConfig(graph), store, silentLogger()).settings.staffTrust).toBe('exchange');
    expect(
      processDeps(loadConfig({ ...graph, STAFF_TRUST: 'none' }), store, silentLogger()).settings.staffTrust,
    ).toBe('none');
    await store.close();
  });
});
