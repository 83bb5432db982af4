import { describe, expect, it } from 'vitest';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import { fromAddressOf, MailboxSet } from '../../src/mailbox/mailbox-set.ts';
import { describeMailboxContract } from './mailbox.contract.ts';
import { localMailboxDriver } from './local-mailbox-driver.ts';

// Several support mailboxes as one: the contract holds for the mailbox that is not the first, whose ids name it.
describeMailboxContract('a set of mailboxes, reaching its second one', async () => {
  const first = await localMailboxDriver('support@msp.example');
  const second = await localMailboxDriver('billing@msp.example');
  const set = new MailboxSet([
    { address: first.address, mailbox: first.mailbox },
    { address: second.address, mailbox: second.mailbox },
  ]);
  return {
    mailbox: set,
    address: second.address,
    arrive: async (mime) => set.idFor(second.address, await second.arrive(mime)),
    sent: second.sent,
    unknownId: set.idFor(second.address, second.unknownId),
    async close() {
      // Nothing may have reached the first mailbox.
      if ((await first.mailbox.listInbox()).length > 0 || (await first.sent()).length > 0)
        throw new Error('the first mailbox of the set was used');
      await first.close();
      await second.close();
    },
  };
});

describe('a set of mailboxes', () => {
  const mail = (from: string): Buffer =>
    Buffer.from(
      `From: "Support, the team" <${from}>\r\nTo: jane@acme.example\r\nSubject: Hi\r\n\r\nHello\r\n`,
    );

  it('sends each mail through the mailbox its From names, and any other From through the first', async () => {
    const first = await localMailboxDriver('support@msp.example');
    const second = await localMailboxDriver('billing@msp.example');
    try {
      const set = new MailboxSet([
        { address: first.address, mailbox: first.mailbox },
        { address: second.address, mailbox: second.mailbox },
      ]);
      await set.send(mail('Billing@MSP.example'), { outboxId: 'a' });
      await set.send(mail('notices@msp.example'), { outboxId: 'b' });
      expect((await second.sent()).map((raw) => raw.toString())).toEqual([
        mail('Billing@MSP.example').toString(),
      ]);
      expect((await first.sent()).map((raw) => raw.toString())).toEqual([
        mail('notices@msp.example').toString(),
      ]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('finds the From of a mail given in pieces, however its header block is split, and never reads a deferred piece', () => {
    const head = 'To: jane@acme.example\r\nFrom: "Billing"\r\n <Billing@MSP.example>\r\nSubject: Hi\r\n\r\n';
    const untouchable = {
      length: 10,
      read(): AsyncIterable<Buffer> {
        throw new Error('the header block was looked for in a deferred piece');
      },
    };
    for (let cut = 0; cut <= head.length; cut += 1) {
      const pieces = [Buffer.from(head.slice(0, cut)), Buffer.from(head.slice(cut)), untouchable];
      expect(fromAddressOf(pieces), `split at ${cut}`).toBe('billing@msp.example');
    }
    // A From after the header block (in the body, or in an original) is not the mail's.
    expect(
      fromAddressOf([Buffer.from('To: a@b.example\r\n\r\n'), Buffer.from('From: x@y.example\r\n')]),
    ).toBeNull();
    expect(fromAddressOf([Buffer.from('To: a@b.example\r\n'), untouchable])).toBeNull();
  });

  it("names each message's mailbox, answers from its address, and keeps the first mailbox's ids as they were", () => {
    const set = new MailboxSet([
      { address: 'support@msp.example', mailbox: new LocalMailbox('unused-1') },
      { address: 'billing@msp.example', mailbox: new LocalMailbox('unused-2') },
    ]);
    expect(set.idFor('support@msp.example', 'AAMkA1')).toBe('AAMkA1');
    expect(set.idFor('Billing@msp.example', 'AAMkB2')).toBe('billing@msp.example/AAMkB2');
    expect(set.origin('AAMkA1')).toEqual({
      mailbox: 'support@msp.example',
      supportAddress: 'support@msp.example',
    });
    expect(set.origin('billing@msp.example/AAMkB2')).toEqual({
      mailbox: 'billing@msp.example',
      supportAddress: 'billing@msp.example',
    });
  });

  it('refuses, as permanent, a message of a mailbox no longer configured', async () => {
    const set = new MailboxSet([{ address: 'support@msp.example', mailbox: new LocalMailbox('unused') }]);
    expect(set.origin('sales@msp.example/AAMkC3')).toEqual({
      mailbox: 'sales@msp.example',
      supportAddress: null,
    });
    await expect(set.fetchRaw('sales@msp.example/AAMkC3')).rejects.toMatchObject({
      name: 'MailboxError',
      kind: 'permanent',
      message: expect.stringContaining('sales@msp.example, which is no longer configured'),
    });
  });
});
