import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { openEngine, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';
import { mail } from '../helpers/mail-factory.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('processing the same message twice', () => {
  it('opens no second ticket and sends no second acknowledgment (keyed on Message-ID)', async () => {
    engine = await openEngine();
    const first = await engine.process('new-from-contact-with-attachment.eml');
    const afterFirst = await engine.store.counts();

    const second = await engine.process('new-from-contact-with-attachment.eml');

    expect(second.duplicate).toBe(true);
    expect(second.outcome).toEqual(first.outcome);
    expect(await engine.store.counts()).toEqual(afterFirst);
    expect(await engine.documents(first.outcome.ticketNumber!)).toHaveLength(1);
    expect(await engine.sent()).toHaveLength(1);
  });

  it('files a reply once and forwards it once', async () => {
    engine = await openEngine();
    await engine.process('reply-customer.eml');

    const again = await engine.process('reply-customer.eml');

    expect(again.duplicate).toBe(true);
    expect(await engine.documents('0000042')).toHaveLength(1);
    expect(await engine.sent()).toHaveLength(1);
  });

  it('forwards an unknown sender’s mail once', async () => {
    engine = await openEngine();
    await engine.process('unknown-sender.eml');

    await engine.process('unknown-sender.eml');

    expect(await engine.sent()).toHaveLength(1);
    expect(await engine.outcomes()).toHaveLength(1);
  });

  it('recognises a redelivered copy with other transport headers by its Message-ID', async () => {
    engine = await openEngine();
    const original = readFixture('reply-customer.eml');
    const redelivered = Buffer.concat([
      Buffer.from('Received: from relay2.acme.example by mx.msp.example; Mon, 16 Nov 2026 10:05:00 +0000\n'),
      original,
    ]);
    await engine.process(original);

    const again = await engine.process(redelivered);

    expect(again.duplicate).toBe(true);
    expect(again.outcome.key).toMatch(/^mid:reply-customer-0042@acme\.example#[0-9a-f]{32}$/);
    expect(await engine.documents('0000042')).toHaveLength(1);
    expect(await engine.sent()).toHaveLength(1);
  });

  it('keys a message without Message-ID on a hash of its content: no second ticket', async () => {
    engine = await openEngine();
    const raw = readFixture('no-message-id.eml');
    const hash = createHash('sha256').update(raw).digest('hex');

    const first = await engine.process('no-message-id.eml');
    const tickets = (await engine.store.counts()).tickets;
    const second = await engine.process('no-message-id.eml');

    expect(first.outcome).toMatchObject({ action: 'ticket-created', key: `sha256:${hash}`, messageId: null });
    expect(second.duplicate).toBe(true);
    expect((await engine.store.counts()).tickets).toBe(tickets);
    expect(await engine.store.findOutcome(`sha256:${hash}`)).toMatchObject({
      ticketNumber: first.outcome.ticketNumber,
    });
    expect(await engine.sent()).toHaveLength(1);
  });

  it('treats two different mails without Message-ID as two messages', async () => {
    engine = await openEngine();
    const other = Buffer.from(
      readFixture('no-message-id.eml').toString('utf8').replace('in reception', 'in the warehouse'),
    );

    const first = await engine.process('no-message-id.eml');
    const second = await engine.process(other);

    expect(second.duplicate).toBe(false);
    expect(second.outcome.ticketNumber).not.toBe(first.outcome.ticketNumber);
  });

  it('files a genuine mail whose Message-ID a stranger used first, and flags the reuse', async () => {
    engine = await openEngine();
    const genuine = readFixture('new-from-contact-with-attachment.eml');
    const messageId = 'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example';
    const preemptive = Buffer.from(
      mail({ from: 'mallory@evil.example', subject: 'hello', messageId, body: 'first with this id' }),
    );

    const stranger = await engine.process(preemptive);
    const real = await engine.process(genuine);

    expect(stranger.outcome.action).toBe('forwarded');
    expect(real.duplicate).toBe(false);
    expect(real.outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME', messageId });
    expect(real.outcome.flags).toContain('message-id-reused');
    expect(real.outcome.reason).toContain('mallory@evil.example');
    expect(await engine.documents(real.outcome.ticketNumber!)).toHaveLength(1);
    // And the genuine mail itself is still processed once.
    expect((await engine.process(genuine)).duplicate).toBe(true);
  });
});
