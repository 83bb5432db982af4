import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { mail } from '../helpers/mail-factory.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

/** The header section of a sent mail, as bytes: what a receiving server would parse. */
function headerSection(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end).toString('latin1');
}

describe('headers built from a customer’s mail', () => {
  it('carry no control characters from the customer’s subject into the acknowledgment or a forward', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    // NUL, CR LF and a right-to-left override, hidden in an encoded word the parser decodes.
    const subject = '=?utf-8?Q?Printer=00broken=0D=0ABcc:_attacker@evil.example_=E2=80=AEfdp.exe?=';
    const { outcome } = await engine.process(
      Buffer.from(mail({ from: 'Bob Stone <bob.stone@gmail.example>', subject })),
    );
    expect(outcome.action).toBe('ticket-created');
    const unknown = await engine.process(Buffer.from(mail({ from: 'stranger@nowhere.example', subject })));
    expect(unknown.outcome.action).toBe('forwarded');

    const sent = await engine.sent();
    const ack = sent.find((m) => m.kind === 'ack')!;
    const forward = sent.find((m) => m.kind === 'forward')!;
    for (const message of [ack, forward]) {
      expect(message.subject).toContain('Printer broken');
      expect(message.subject).not.toMatch(/[\p{Cc}\u202e]/u);
      expect(message.to).not.toContain('attacker@evil.example');
      expect(headerSection(message.raw)).not.toMatch(/^Bcc:/im);
    }
    expect(forward.to).toEqual([internalSupport]);
    expect(outcome.sent[0]!.subject).not.toMatch(/\p{Cc}/u);
  });
});
