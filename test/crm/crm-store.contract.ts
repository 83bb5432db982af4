import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { StoreError, type CrmStore, type ProcessingCommit } from '../../src/crm/crm-store.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import type { ValidatedXmlTransaction } from '../../src/domain/xml-api/xml-transaction.ts';

/** The import example of docs/crm-import.md, as the issue gives it. */
export const exampleImport = {
  accounts: [
    {
      id: 'ACME',
      company: 'Acme Ltd',
      email1: 'info@acme.example',
      email2: 'acme.example',
      contacts: [{ name: 'Jane Roe', email: 'jane@acme.example' }],
    },
  ],
  employees: [{ id: 'TOM', name: 'Tom Tech', email1: 'tom@msp.example', email2: null, active: true }],
  tickets: [{ number: '0000042', accountId: 'ACME', subject: 'Printer', status: 'open' }],
};

const moreAccounts = {
  accounts: [
    { id: 'GLOBEX', company: 'Globex', email1: 'IT@Globex.example', email2: 'shared.example' },
    {
      id: 'INITECH',
      company: 'Initech',
      fileAs: 'Initech Europe',
      email1: null,
      foreignId: 'RMM-77',
      customFields: { 'RMM Site': 'site-9' },
      contacts: [{ id: 'INI-1', name: 'Bill', email: 'shared.example' }],
    },
  ],
  employees: [
    { id: 'OLD', name: 'Olga', email1: 'olga@msp.example', email2: 'o@msp.example', active: false },
  ],
};

/**
 * A mail's original read whole through `openMailOriginal`, checked against the length it announced; null when the
 * store says the mail has none.
 */
async function originalOf(store: CrmStore, mailId: string): Promise<Buffer | null> {
  const original = await store.openMailOriginal(mailId);
  if (!original) return null;
  const parts: Buffer[] = [];
  for await (const part of original.read()) parts.push(part);
  const whole = Buffer.concat(parts);
  expect(whole.length).toBe(original.length);
  return whole;
}

function commitFor(key: string, overrides: Partial<ProcessingCommit> = {}): ProcessingCommit {
  return {
    outcome: {
      key,
      source: 'test',
      messageId: null,
      from: 'jane@acme.example',
      subject: 'Hello',
      action: 'forwarded',
      code: 'no-match',
      reason: 'test',
      ticketNumber: null,
      accountId: null,
      flags: [],
      forwardedTo: ['helpdesk@msp.example'],
      sent: [],
      details: null,
    },
    ticket: null,
    documents: [],
    outgoing: [],
    intakeId: null,
    ...overrides,
  };
}

/**
 * The behaviour every CrmStore adapter must show. Each adapter's test file calls this with a factory
 * that opens an empty store.
 */
export function describeCrmStoreContract(name: string, openEmpty: () => Promise<CrmStore>): void {
  describe(`CrmStore contract: ${name}`, () => {
    let store: CrmStore;
    beforeEach(async () => {
      store = await openEmpty();
      await store.importCrm(parseCrmImport(exampleImport));
    });
    afterEach(async () => {
      await store.close();
    });

    it('imports the documented example and finds the ticket by number', async () => {
      const ticket = await store.findTicketByNumber('0000042');
      expect(ticket).toMatchObject({
        number: '0000042',
        accountId: 'ACME',
        subject: 'Printer',
        status: 'open',
      });
      expect(await store.findTicketByNumber('42')).toMatchObject({ number: '0000042' });
      expect(await store.findTicketByNumber('43')).toBeNull();
    });

    it('re-importing the same file changes no counts', async () => {
      const before = await store.counts();
      await store.importCrm(parseCrmImport(exampleImport));
      expect(await store.counts()).toEqual(before);
      expect(before).toMatchObject({ accounts: 1, contacts: 1, employees: 1, tickets: 1 });
    });

    it('re-importing updates records in place', async () => {
      const changed = structuredClone(exampleImport);
      changed.accounts[0]!.company = 'Acme Limited';
      changed.tickets[0]!.status = 'closed';
      await store.importCrm(parseCrmImport(changed));
      expect((await store.findAccountById('ACME'))?.company).toBe('Acme Limited');
      expect((await store.findTicketByNumber('42'))?.status).toBe('closed');
      expect((await store.counts()).tickets).toBe(1);
    });

    it('rejects a whole import when one record is bad, changing nothing', async () => {
      const before = await store.counts();
      const bad = parseCrmImport({
        accounts: [{ id: 'NEW', company: 'New Co', email1: 'new@new.example' }],
        tickets: [{ number: '7', accountId: 'NOPE', subject: 'x' }],
      });
      await expect(store.importCrm(bad)).rejects.toThrow(/tickets\[0\].*accountId/);
      expect(await store.counts()).toEqual(before);
      expect(await store.findAccountById('NEW')).toBeNull();
    });

    it('finds accounts by full address in Email1, Email2 and contacts, case-insensitively', async () => {
      await store.importCrm(parseCrmImport(moreAccounts));
      expect(
        (await store.findAccountsByAddress('info@acme.example')).map((m) => [m.account.id, m.via]),
      ).toEqual([['ACME', 'email1']]);
      expect((await store.findAccountsByAddress('it@globex.example')).map((m) => m.account.id)).toEqual([
        'GLOBEX',
      ]);
      const contact = await store.findAccountsByAddress('jane@acme.example');
      expect(contact).toHaveLength(1);
      expect(contact[0]).toMatchObject({ via: 'contact', account: { id: 'ACME' } });
      expect(contact[0]!.contactId).not.toBeNull();
      expect(await store.findAccountsByAddress('nobody@acme.example')).toEqual([]);
    });

    it('finds accounts by bare domain in Email1/Email2 and contacts, and every account sharing it', async () => {
      await store.importCrm(parseCrmImport(moreAccounts));
      expect((await store.findAccountsByDomain('acme.example')).map((a) => a.id)).toEqual(['ACME']);
      expect((await store.findAccountsByDomain('SHARED.example')).map((a) => a.id)).toEqual([
        'GLOBEX',
        'INITECH',
      ]);
      // A full address does not make its domain a match.
      expect(await store.findAccountsByDomain('globex.example')).toEqual([]);
    });

    it('finds accounts by name, by foreign id or custom field, by record id, and name candidates in a text', async () => {
      await store.importCrm(parseCrmImport(moreAccounts));
      expect((await store.findAccountsByName('initech europe')).map((a) => a.id)).toEqual(['INITECH']);
      expect((await store.findAccountsByForeignId(['x', 'RMM-77'], null)).map((a) => a.id)).toEqual([
        'INITECH',
      ]);
      expect((await store.findAccountsByForeignId(['site-9'], 'RMM Site')).map((a) => a.id)).toEqual([
        'INITECH',
      ]);
      expect((await store.findAccountsByIds(['GLOBEX', 'NOPE'])).map((a) => a.id)).toEqual(['GLOBEX']);
      expect(
        (await store.findAccountsNameCandidates('Backup failed at Initech Europe HQ')).map((a) => a.id),
      ).toEqual(['INITECH']);
      // Candidates only: any case, anywhere in the text, even inside a longer word (the domain decides).
      expect(
        (await store.findAccountsNameCandidates('backup failed at INITECH EUROPEAN HQ')).map((a) => a.id),
      ).toEqual(['INITECH']);
      expect(await store.findAccountsNameCandidates('Backup failed at Initechnology')).toEqual([]);
    });

    it('finds every employee with an address in Email1 or Email2, active or not', async () => {
      await store.importCrm(parseCrmImport(moreAccounts));
      expect(await store.findEmployeesByAddress('TOM@msp.example')).toMatchObject([
        { id: 'TOM', active: true },
      ]);
      expect(await store.findEmployeesByAddress('o@msp.example')).toMatchObject([
        { id: 'OLD', active: false },
      ]);
      expect(await store.findEmployeesByAddress('jane@acme.example')).toEqual([]);
      await store.importCrm(
        parseCrmImport({
          employees: [{ id: 'NEW', name: 'Nora', email1: null, email2: 'Olga@msp.example', active: true }],
        }),
      );
      const sharing = await store.findEmployeesByAddress('olga@msp.example');
      expect(sharing.map((employee) => [employee.id, employee.active]).sort()).toEqual([
        ['NEW', true],
        ['OLD', false],
      ]);
    });

    it('reserves sequential, zero-padded ticket numbers after the highest existing one', async () => {
      expect(await store.reserveTicketNumber(7)).toBe('0000043');
      expect(await store.reserveTicketNumber(7)).toBe('0000044');
    });

    it('numbers XML API tickets and reserved tickets from one sequence, never twice', async () => {
      const newTicket = (recordId: string): ValidatedXmlTransaction => ({
        dataKind: 'TICKET',
        operation: 'insert',
        recordId,
        values: { account_id: 'ACME', subject: 'From a web form', status: 'open' },
        ticketNumberDigits: 7,
      });
      expect(await store.reserveTicketNumber(7)).toBe('0000043');
      expect(await store.applyXmlTransaction('xml:1', newTicket('X1'), 'Web form')).toMatchObject({
        status: 'success',
        ticketNumber: '0000044',
      });
      expect(await store.reserveTicketNumber(7)).toBe('0000045');
      // A reserved number whose ticket was never written is not reused either.
      expect(await store.applyXmlTransaction('xml:2', newTicket('X2'), 'Web form')).toMatchObject({
        ticketNumber: '0000046',
      });
    });

    it('refuses an XML API link to a record that does not exist or belongs to another account', async () => {
      await store.importCrm(parseCrmImport(moreAccounts));
      const charge = (values: ValidatedXmlTransaction['values']): ValidatedXmlTransaction => ({
        dataKind: 'CHARGE',
        operation: 'insert',
        recordId: `C-${Object.keys(values).join('-')}`,
        values: { description: 'Remote work', ...values },
        ticketNumberDigits: 7,
      });
      const missing = await store.applyXmlTransaction('xml:c1', charge({ ticket_id: 'NOPE' }), 'x');
      expect(missing).toMatchObject({ status: 'failure', errors: [{ code: 'LINKED_RECORD_NOT_FOUND' }] });
      const foreign = await store.applyXmlTransaction(
        'xml:c2',
        charge({ ticket_id: 'TKT-0000042', account_id: 'GLOBEX' }),
        'x',
      );
      expect(foreign).toMatchObject({ status: 'failure', errors: [{ code: 'LINK_MISMATCH' }] });
      // A charge that names only its ticket is filed under the ticket's account.
      const fromTicket = await store.applyXmlTransaction('xml:c3', charge({ ticket_id: 'TKT-0000042' }), 'x');
      expect(fromTicket).toMatchObject({ status: 'success', accountId: 'ACME' });
    });

    it('commits a ticket, its document with attachments, outbox mail and the outcome together, once', async () => {
      const number = await store.reserveTicketNumber(7);
      const commit = commitFor('mid:a@b', {
        ticket: {
          id: 'T1',
          number,
          accountId: 'ACME',
          contactId: null,
          subject: 'Printer on fire',
          status: 'open',
          priority: null,
          kind: null,
          source: 'email',
        },
        documents: [
          {
            id: 'D1',
            ticketId: 'T1',
            accountId: 'ACME',
            sender: 'jane@acme.example',
            recipients: ['support@msp.example'],
            date: '2026-11-27T09:00:00.000Z',
            subject: 'Printer on fire',
            textBody: 'help',
            htmlBody: null,
            messageId: 'a@b',
            attachments: [
              {
                filename: 'photo.jpg',
                contentType: 'image/jpeg',
                size: 3,
                content: null,
                position: 0,
                contentId: null,
                inline: false,
              },
            ],
            raw: Buffer.from('raw mime'),
          },
        ],
        outgoing: [
          {
            id: 'M1',
            kind: 'acknowledgment',
            to: ['jane@acme.example'],
            subject: `[Ticket#${number}] Printer on fire`,
            messageId: 'ack1@msp.example',
            referenceToken: 'ECR-00000000000000000001',
            ticketId: 'T1',
            mime: Buffer.from('ack mime'),
          },
        ],
      });
      commit.outcome.action = 'ticket-created';
      commit.outcome.ticketNumber = number;
      const first = await store.commitProcessing(commit);
      expect(first.duplicate).toBe(false);
      const second = await store.commitProcessing({ ...commit, ticket: { ...commit.ticket!, id: 'T2' } });
      expect(second.duplicate).toBe(true);
      expect((await store.counts()).tickets).toBe(2);

      const documents = await store.listDocuments('T1');
      expect(documents).toHaveLength(1);
      expect(documents[0]!.attachments).toEqual([
        { filename: 'photo.jpg', contentType: 'image/jpeg', size: 3, position: 0 },
      ]);
      // Its bytes are in the raw MIME, not stored a second time.
      expect((await store.readStoredAttachment('D1', 0))?.length).toBe(0);
      expect(await store.readStoredAttachment('D1', 1)).toBeNull();
      expect((await store.readDocumentRaw('D1'))?.toString()).toBe('raw mime');
      expect(await store.listPendingMail(10, new Date())).toHaveLength(1);
      expect(
        await store.countOutgoingSince({
          kinds: ['acknowledgment'],
          recipient: 'JANE@acme.example',
          since: new Date(Date.now() - 60_000),
        }),
      ).toBe(1);
      expect((await store.findTicketByThread(['ack1@msp.example'], []))?.ticket.id).toBe('T1');
      expect((await store.findTicketByThread(['a@b'], []))?.via).toBe('message-id');
      expect((await store.findTicketByThread([], ['ECR-00000000000000000001']))?.via).toBe('reference-token');
      expect(await store.findTicketByThread(['other@x'], ['ECR-1'])).toBeNull();
      expect((await store.findOutcome('mid:a@b'))?.ticketNumber).toBe(number);
    });

    it('gives a pending mail the filed original it refers to', async () => {
      const commit = commitFor('mid:reply@x', {
        documents: [
          {
            id: 'D5',
            ticketId: 'TKT-0000042',
            accountId: 'ACME',
            sender: 'jane@acme.example',
            recipients: ['support@msp.example'],
            date: '2026-11-27T09:00:00.000Z',
            subject: 'RE: [Ticket#0000042] Printer',
            textBody: 'still broken',
            htmlBody: null,
            messageId: 'reply@x',
            attachments: [],
            raw: Buffer.from('the original, byte for byte\r\n'),
          },
        ],
        outgoing: [
          {
            id: 'F5',
            kind: 'forward',
            to: ['helpdesk@msp.example'],
            subject: 'Customer reply filed',
            messageId: 'f5@msp.example',
            referenceToken: null,
            ticketId: 'TKT-0000042',
            mime: Buffer.from('note + placeholder'),
            originalDocumentId: 'D5',
          },
        ],
      });
      await store.commitProcessing(commit);
      const [pending] = await store.listPendingMail(10, new Date());
      expect(pending!.mime.toString()).toBe('note + placeholder');
      // Listing refers to the original; it is read only when the mail is sent.
      expect(pending!.original).toEqual({ kind: 'document', documentId: 'D5' });
      expect((await originalOf(store, 'F5'))?.toString()).toBe('the original, byte for byte\r\n');
    });

    it('keeps the original of an unfiled forward once, apart from its MIME, and hands it out only when asked', async () => {
      // Larger than one SQLite part, with bytes of every value, so that parts and their order show.
      const original = Buffer.alloc(2_500_000 + 7);
      for (let at = 0; at < original.length; at += 1) original[at] = (at * 7 + (at >> 11)) & 0xff;
      const forward = (id: string, heldOriginal: Buffer | null) => ({
        id,
        kind: 'forward' as const,
        to: ['helpdesk@msp.example'],
        subject: 'Forwarded',
        messageId: `${id.toLowerCase()}@msp.example`,
        referenceToken: null,
        ticketId: null,
        mime: Buffer.from(`note + placeholder of ${id}`),
        heldOriginal,
      });
      await store.commitProcessing(
        commitFor('mid:unknown@x', { outgoing: [forward('H1', original), forward('W1', null)] }),
      );
      const notice = forward('N1', Buffer.from('a notice may hold one too'));
      expect(await store.queueNotice({ ...notice, kind: 'notice' })).toBe(true);

      const pending = await store.listPendingMail(10, new Date());
      expect(pending.map((mail) => [mail.id, mail.original, mail.mime.toString()])).toEqual([
        ['H1', { kind: 'held' }, 'note + placeholder of H1'],
        ['W1', null, 'note + placeholder of W1'],
        ['N1', { kind: 'held' }, 'note + placeholder of N1'],
      ]);
      expect((await originalOf(store, 'H1'))?.equals(original)).toBe(true);
      expect((await originalOf(store, 'N1'))?.toString()).toBe('a notice may hold one too');
      expect(await store.openMailOriginal('W1')).toBeNull();
      expect(await store.openMailOriginal('no-such-mail')).toBeNull();
      // Each read reads afresh (a request tried again sends the original again).
      const opened = await store.openMailOriginal('H1');
      for (let round = 0; round < 2; round += 1) {
        let length = 0;
        for await (const part of opened!.read()) length += part.length;
        expect(length).toBe(original.length);
      }
    });

    it('writes nothing of a commit that fails part-way', async () => {
      const before = await store.counts();
      const commit = commitFor('mid:broken@x', {
        documents: [
          {
            id: 'D9',
            ticketId: 'NO-SUCH-TICKET',
            accountId: 'ACME',
            sender: 'x@y.example',
            recipients: [],
            date: '2026-11-27T09:00:00.000Z',
            subject: 's',
            textBody: '',
            htmlBody: null,
            messageId: null,
            attachments: [],
            raw: Buffer.from(''),
          },
        ],
        outgoing: [
          {
            id: 'M9',
            kind: 'forward',
            to: ['helpdesk@msp.example'],
            subject: 's',
            messageId: 'm9@msp.example',
            referenceToken: null,
            ticketId: null,
            mime: Buffer.from('x'),
          },
        ],
      });
      const failure = await store.commitProcessing(commit).catch((error: unknown) => error);
      // A row the data refuses (no such ticket) fails the same way every time.
      expect(failure).toBeInstanceOf(StoreError);
      expect(failure).toMatchObject({ kind: 'permanent', cause: expect.any(Error) });
      expect(await store.counts()).toEqual(before);
      expect(await store.findOutcome('mid:broken@x')).toBeNull();
      expect(await store.listPendingMail(10, new Date())).toEqual([]);
    });

    it('lets a successful outcome supersede a failed one for the same message', async () => {
      const failed = commitFor('mid:retry@x');
      failed.outcome.action = 'failed';
      await store.commitProcessing(failed);
      const later = await store.commitProcessing(commitFor('mid:retry@x'));
      expect(later.duplicate).toBe(false);
      expect((await store.findOutcome('mid:retry@x'))?.action).toBe('forwarded');
      expect(await store.listOutcomes({ action: 'failed' })).toEqual([]);
    });

    it('keeps outbox mail pending until sent, and gives up on a final failure', async () => {
      const mail = (id: string) => ({
        id,
        kind: 'forward' as const,
        to: ['helpdesk@msp.example'],
        subject: id,
        messageId: `${id}@msp.example`,
        referenceToken: null,
        ticketId: null,
        mime: Buffer.from(id),
      });
      await store.commitProcessing(commitFor('mid:o@x', { outgoing: [mail('A'), mail('B')] }));
      expect((await store.listPendingMail(10, new Date())).map((m) => m.id)).toEqual(['A', 'B']);
      await store.markMailSent('A', new Date());
      await store.markMailFailed('B', 'refused', { final: false });
      expect(await store.listPendingMail(10, new Date())).toMatchObject([{ id: 'B', attempts: 1 }]);
      await store.markMailFailed('B', 'refused', { final: true });
      expect(await store.listPendingMail(10, new Date())).toEqual([]);
    });

    it('does not hand out a refused mail before its retry time, and counts mail by kind, recipient and sender', async () => {
      const mail = (id: string, kind: 'forward' | 'acknowledgment', to: string) => ({
        id,
        kind,
        to: [to],
        subject: id,
        messageId: `${id}@msp.example`,
        referenceToken: null,
        ticketId: null,
        mime: Buffer.from(id),
        aboutSender: kind === 'forward' ? 'Mallory@Evil.example' : null,
      });
      await store.commitProcessing(
        commitFor('mid:r@x', {
          outgoing: [
            mail('F', 'forward', 'helpdesk@msp.example'),
            mail('K', 'acknowledgment', 'jane@acme.example'),
          ],
        }),
      );
      const now = new Date();
      await store.markMailFailed('F', 'throttled', {
        final: false,
        retryAt: new Date(now.getTime() + 60_000),
      });
      expect((await store.listPendingMail(10, now)).map((m) => m.id)).toEqual(['K']);
      expect((await store.listPendingMail(10, new Date(now.getTime() + 60_000))).map((m) => m.id)).toEqual([
        'F',
        'K',
      ]);
      const hourAgo = new Date(now.getTime() - 3_600_000);
      expect(
        await store.countOutgoingSince({
          kinds: ['forward'],
          aboutSender: 'mallory@evil.example',
          since: hourAgo,
        }),
      ).toBe(1);
      expect(
        await store.countOutgoingSince({ kinds: ['acknowledgment', 'api-response'], since: hourAgo }),
      ).toBe(1);
      expect(
        await store.countOutgoingSince({
          kinds: ['acknowledgment'],
          recipient: 'x@y.example',
          since: hourAgo,
        }),
      ).toBe(0);
      await store.markMailSent('K', now);
      expect(await store.nextMailAttemptAt()).toEqual(new Date(now.getTime() + 60_000));
    });

    it('reopens a ticket, opens a linked follow-up and keeps their history, with the commit', async () => {
      const closed = (await store.findTicketByNumber('0000042'))!;
      await store.commitProcessing(
        commitFor('mid:h@x', {
          ticketUpdate: { id: closed.id, status: 'reopened' },
          history: [{ ticketId: closed.id, accountId: closed.accountId, description: 'Reopened' }],
        }),
      );
      expect((await store.findTicketByNumber('0000042'))!.status).toBe('reopened');
      expect((await store.listTicketHistory(closed.id)).map((note) => note.description)).toEqual([
        'Reopened',
      ]);
    });

    it('finds the outcomes of a Message-ID, oldest first', async () => {
      await store.commitProcessing(
        commitFor('mid:same@x#1', {
          outcome: { ...commitFor('x').outcome, key: 'mid:same@x#1', messageId: 'same@x' },
        }),
      );
      await store.commitProcessing(
        commitFor('mid:same@x#2', {
          outcome: { ...commitFor('x').outcome, key: 'mid:same@x#2', messageId: 'same@x' },
        }),
      );
      expect((await store.findOutcomesByMessageId('same@x', 5)).map((o) => o.key)).toEqual([
        'mid:same@x#1',
        'mid:same@x#2',
      ]);
    });

    it('enqueues a mailbox message once, however often it is announced', async () => {
      const now = new Date();
      const a = await store.enqueue({ mailboxId: 'm1', source: 'test', now });
      const b = await store.enqueue({ mailboxId: 'm1', source: 'test', now });
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(b.item.id).toBe(a.item.id);
    });

    it('enqueues a burst in one call: each message once, in order, with its item id', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      const known = await store.enqueue({ mailboxId: 'm0', source: 'test', now });
      const results = await store.enqueueMany(
        [
          { mailboxId: 'm1', source: 'graph' },
          { mailboxId: 'm0', source: 'graph' },
          { mailboxId: 'm2', source: 'graph' },
          { mailboxId: 'm1', source: 'graph' },
        ],
        now,
      );
      expect(results.map((result) => result.created)).toEqual([true, false, true, false]);
      expect(results[1]!.id).toBe(known.item.id);
      expect(results[3]!.id).toBe(results[0]!.id);
      const m2 = await store.findIntake('m2');
      expect(m2).toMatchObject({ id: results[2]!.id, source: 'graph', state: 'pending' });
      expect(new Date(m2!.enqueuedAt)).toEqual(now);
      expect(await store.listIntake('pending', 10)).toHaveLength(3);
    });

    it('claims the earliest due first, in the order enqueued, with expired leases in their place', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
      for (const id of ['a', 'b', 'c', 'd', 'e']) await store.enqueue({ mailboxId: id, source: 'test', now });
      // a is claimed and its lease runs out; b waits for a retry later than everything else.
      const [a] = await store.claimIntake({ workerId: 'w', leaseMs: 1_000, now, limit: 1 });
      expect(a?.mailboxId).toBe('a');
      const [b] = await store.claimIntake({ workerId: 'w', leaseMs: 60_000, now, limit: 1 });
      await store.retryIntake(b!.id, 'w', 'busy', at(30));
      const claim = (limit: number, seconds: number) =>
        store
          .claimIntake({ workerId: 'w2', leaseMs: 60_000, now: at(seconds), limit })
          .then((items) => items.map((item) => item.mailboxId));
      expect(await claim(2, 5)).toEqual(['a', 'c']);
      expect(await claim(5, 60)).toEqual(['d', 'e', 'b']);
    });

    it('claims with a lease that another worker can take over only after it expires', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      await store.enqueue({ mailboxId: 'm1', source: 'test', now });
      const first = await store.claimIntake({ workerId: 'w1', leaseMs: 60_000, now, limit: 5 });
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({ state: 'claimed', attempts: 1 });
      expect(await store.claimIntake({ workerId: 'w2', leaseMs: 60_000, now, limit: 5 })).toEqual([]);
      const later = new Date(now.getTime() + 61_000);
      const taken = await store.claimIntake({ workerId: 'w2', leaseMs: 60_000, now: later, limit: 5 });
      expect(taken).toHaveLength(1);
      expect(taken[0]!.attempts).toBe(2);
      // The first worker lost its lease: its late retry must not release the new claim.
      await store.retryIntake(first[0]!.id, 'w1', 'late', later);
      expect((await store.findIntake('m1'))?.state).toBe('claimed');
    });

    it('retries after a delay, quarantines, and requeues quarantined items', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      const { item } = await store.enqueue({ mailboxId: 'm2', source: 'test', now });
      await store.claimIntake({ workerId: 'w', leaseMs: 60_000, now, limit: 1 });
      await store.retryIntake(item.id, 'w', 'mailbox busy', new Date(now.getTime() + 5_000));
      expect(await store.claimIntake({ workerId: 'w', leaseMs: 60_000, now, limit: 1 })).toEqual([]);
      const due = new Date(now.getTime() + 5_000);
      expect(await store.claimIntake({ workerId: 'w', leaseMs: 60_000, now: due, limit: 1 })).toHaveLength(1);
      await store.quarantineIntake(item.id, 'w', 'still failing', 'intake:x');
      expect(await store.listIntake('quarantined', 10)).toMatchObject([
        { mailboxId: 'm2', attempts: 2, lastError: 'still failing' },
      ]);
      expect(await store.requeueQuarantined(['m2'], due)).toBe(1);
      expect(await store.findIntake(item.id)).toMatchObject({ state: 'pending', attempts: 0 });
    });

    it('keeps small state and leases between instances', async () => {
      await store.setState('graph.subscription', 'sub-1');
      expect(await store.getState('graph.subscription')).toBe('sub-1');
      await store.setState('graph.subscription', null);
      expect(await store.getState('graph.subscription')).toBeNull();
      const now = new Date('2026-11-27T10:00:00Z');
      expect(await store.acquireLease('renewal', 'a', 30_000, now)).toBe(true);
      expect(await store.acquireLease('renewal', 'b', 30_000, now)).toBe(false);
      expect(await store.acquireLease('renewal', 'a', 30_000, now)).toBe(true);
      expect(await store.acquireLease('renewal', 'b', 30_000, new Date(now.getTime() + 31_000))).toBe(true);
      await store.releaseLease('renewal', 'b');
      expect(await store.acquireLease('renewal', 'c', 30_000, now)).toBe(true);
    });

    it('answers ping while open', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  // Several workers and instances share one database: what they do at the same time must not collide.
  describe(`CrmStore contract, at the same time: ${name}`, () => {
    let store: CrmStore;
    beforeEach(async () => {
      store = await openEmpty();
      await store.importCrm(parseCrmImport(exampleImport));
    });
    afterEach(async () => {
      await store.close();
    });

    it('never gives two concurrent claimers the same intake item', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      for (let i = 0; i < 20; i += 1) await store.enqueue({ mailboxId: `m${i}`, source: 'test', now });
      const claimed: string[] = [];
      for (let round = 0; round < 10 && claimed.length < 20; round += 1) {
        const claims = await Promise.all(
          ['w1', 'w2', 'w3', 'w4'].map((workerId) =>
            store.claimIntake({ workerId, leaseMs: 60_000, now, limit: 3 }),
          ),
        );
        for (const items of claims) claimed.push(...items.map((item) => item.mailboxId));
      }
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    });

    it('gives parallel ticket number reservations distinct numbers, after the highest', async () => {
      const numbers = await Promise.all(Array.from({ length: 20 }, () => store.reserveTicketNumber(7)));
      expect(new Set(numbers).size).toBe(20);
      expect(numbers.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 43 + i));
    });

    it('records one outcome when two workers commit the same message at once', async () => {
      const results = await Promise.all([
        store.commitProcessing(commitFor('mid:twice@x')),
        store.commitProcessing(commitFor('mid:twice@x')),
      ]);
      expect(results.map((result) => result.duplicate).sort()).toEqual([false, true]);
      expect((await store.counts()).outcomes).toBe(1);
    });

    it('creates one intake item when a message is announced twice at once', async () => {
      const now = new Date('2026-11-27T10:00:00Z');
      const results = await Promise.all([
        store.enqueue({ mailboxId: 'same', source: 'test', now }),
        store.enqueue({ mailboxId: 'same', source: 'test', now }),
      ]);
      expect(results.map((result) => result.created).sort()).toEqual([false, true]);
      expect(results[0]!.item.id).toBe(results[1]!.item.id);
    });
  });
}
