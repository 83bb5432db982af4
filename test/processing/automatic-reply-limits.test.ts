import { afterEach, describe, expect, it } from 'vitest';
import { internalSupport, openEngine, type Engine } from '../helpers/engine.ts';
import { mail } from '../helpers/mail-factory.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('automatic replies (RFC 3834 §4)', () => {
  it('sends the acknowledgment to the Return-Path, never to Reply-To', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    const raw = mail({
      from: 'Carl Carlson <carl@acme.example>',
      subject: 'VPN drops every hour',
      headers: { 'Reply-To': 'victim@elsewhere.example' },
    });
    const { outcome } = await engine.process(Buffer.from(`Return-Path: <carl@acme.example>\r\n${raw}`));
    expect(outcome.action).toBe('ticket-created');
    const sent = await engine.sent();
    expect(sent.map((m) => m.to)).toEqual([['carl@acme.example']]);
  });

  it('sends it to the envelope sender when Return-Path and From differ', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    const raw = mail({ from: 'Carl Carlson <carl@acme.example>', subject: 'Sent by our ticket form' });
    await engine.process(Buffer.from(`Return-Path: <forms@acme.example>\r\n${raw}`));
    expect((await engine.sent()).map((m) => m.to)).toEqual([['forms@acme.example']]);
  });

  it('falls back to From when there is no Return-Path', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    await engine.process(
      Buffer.from(
        mail({ from: 'carl@acme.example', subject: 'Hi', headers: { 'Reply-To': 'x@elsewhere.example' } }),
      ),
    );
    expect((await engine.sent()).map((m) => m.to)).toEqual([['carl@acme.example']]);
  });

  it('stops acknowledging anybody once the global hourly cap is reached, and still opens the tickets', async () => {
    engine = await openEngine({ AUTO_ACK: 'true', AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: '2' });
    const outcomes = [];
    for (const who of ['ann', 'ben', 'cid', 'dot']) {
      outcomes.push(
        (await engine.process(Buffer.from(mail({ from: `${who}@acme.example`, subject: 'Help' })))).outcome,
      );
    }
    expect(outcomes.map((o) => o.action)).toEqual([
      'ticket-created',
      'ticket-created',
      'ticket-created',
      'ticket-created',
    ]);
    expect(outcomes.map((o) => o.flags.includes('no-ack:global-limit'))).toEqual([false, false, true, true]);
    expect((await engine.sent()).filter((m) => m.kind === 'ack')).toHaveLength(2);
  });
});

describe('a flood of forwards from one sender', () => {
  it('collapses into one notice an hour; every mail is still recorded', async () => {
    engine = await openEngine({ FORWARD_LIMIT_PER_SENDER_PER_HOUR: '3' });
    const outcomes = [];
    for (let n = 1; n <= 7; n += 1) {
      const raw = mail({ from: 'spammer@nowhere.example', subject: `Offer ${n}` });
      outcomes.push((await engine.process(Buffer.from(raw))).outcome);
    }
    // Another sender is not affected.
    const other = await engine.process(
      Buffer.from(mail({ from: 'someone@else.example', subject: 'Question' })),
    );

    expect(outcomes.every((o) => o.action === 'forwarded')).toBe(true);
    expect(outcomes.map((o) => o.flags.includes('forward-suppressed:flood'))).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      true,
    ]);
    const sent = await engine.sent();
    const aboutSpammer = sent.filter((m) => m.subject.includes('Offer') || m.subject.includes('spammer'));
    expect(aboutSpammer.filter((m) => m.kind === 'forward')).toHaveLength(3);
    const notices = sent.filter((m) => m.kind === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.to).toEqual([internalSupport]);
    expect(notices[0]!.subject).toContain('spammer@nowhere.example');
    expect(other.outcome.forwardedTo).toEqual([internalSupport]);
    expect(await engine.outcomes()).toHaveLength(8);
  });
});
