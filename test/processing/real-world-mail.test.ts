import { afterEach, describe, expect, it } from 'vitest';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { openEngine, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

/** The test CRM plus the customers whose mail systems wrote the real-world fixtures. */
async function openRealWorldEngine(): Promise<Engine> {
  const opened = await openEngine({ AUTO_ACK: 'true' });
  const accounts = JSON.parse(readFixture('real-world/crm.json').toString('utf8'));
  await opened.store.importCrm(parseCrmImport(accounts));
  return opened;
}

describe('mail from old clients with raw 8-bit bytes in encoded words', () => {
  it('opens the ticket and acknowledges it with the subject and name as the customer wrote them', async () => {
    engine = await openRealWorldEngine();

    const { outcome } = await engine.process('real-world/outlook-express-8bit-encoded-words.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'HALLSTATT' });
    expect(outcome.subject).toBe('Frösche am Teich: Kamera zeigt kein Bild');
    const ticket = await engine.ticket(outcome.ticketNumber!);
    expect(ticket.subject).toBe('Frösche am Teich: Kamera zeigt kein Bild');
    const [ack] = await engine.sent();
    expect(ack).toMatchObject({
      kind: 'ack',
      to: ['juergen.mueller@fischerei-hallstatt.example'],
      subject: `[Ticket#${outcome.ticketNumber}] Frösche am Teich: Kamera zeigt kein Bild`,
    });
    expect(ack!.text).toContain('Hello Jürgen Müller,');
    expect(ack!.subject + ack!.text).not.toMatch(/\uFFFD|Ã|ï¿½/);
  });

  it('reads a subject written in raw Latin-1 without any encoded word', async () => {
    engine = await openRealWorldEngine();
    const mail = Buffer.concat([
      Buffer.from(
        'From: office@fischerei-hallstatt.example\r\nTo: support@msp.example\r\nSubject: ',
        'ascii',
      ),
      Buffer.from('Drucker im Büro druckt nur Striche', 'latin1'),
      Buffer.from(
        '\r\nMessage-ID: <raw-latin1-subject@fischerei-hallstatt.example>\r\n' +
          'Content-Type: text/plain; charset=iso-8859-1\r\n\r\nBitte um Hilfe.\r\n',
        'ascii',
      ),
    ]);

    const { outcome } = await engine.process(mail, 'raw-latin1.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'HALLSTATT' });
    expect((await engine.ticket(outcome.ticketNumber!)).subject).toBe('Drucker im Büro druckt nur Striche');
  });
});

describe('mail with very long headers', () => {
  it('files a mail whose Cc lists 20,000 addresses within seconds, with every address', async () => {
    engine = await openRealWorldEngine();
    // Folded every 20 addresses: mailparser counts each header line against its 1 MiB header limit.
    const cc = Array.from({ length: 20_000 }, (_, index) => `staff${index}@tailspin.example`)
      .map((address, index) => (index % 20 === 19 ? `${address},\r\n ` : `${address}, `))
      .join('')
      .replace(/,\s*$/, '');
    const mail =
      'From: it@tailspin.example\r\nTo: support@msp.example\r\nSubject: Please add everyone to the VPN group\r\n' +
      `Cc: ${cc}\r\nMessage-ID: <all-staff-vpn@tailspin.example>\r\n\r\nSee Cc.\r\n`;

    const started = performance.now();
    const { outcome } = await engine.process(Buffer.from(mail, 'utf8'), 'long-cc.eml');

    expect(performance.now() - started).toBeLessThan(3_000);
    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'TAILSPIN' });
    const [document] = await engine.documents(outcome.ticketNumber!);
    expect(document!.recipients).toHaveLength(20_001);
  });
});

describe('machine-made mail from the domain of a known customer', () => {
  // Each sender's domain belongs to an account: taken for a person's mail, it would open a ticket there and
  // be acknowledged.
  it.each([
    ['an ARF abuse report with a commented Content-Type', 'arf-abuse-report.eml', 'ARF'],
    ['an abuse report sent as multipart/mixed', 'abuse-report-multipart-mixed.eml', 'feedback-report'],
    ["a shop's no-reply order confirmation", 'no-reply-order-confirmation.eml', 'no-reply sender'],
    ['a do_not_reply password notice', 'do-not-reply-password-expiry.eml', 'no-reply sender'],
    ['a Mailman moderation notice', 'mailman-moderation-notice.eml', 'mailing list notice'],
    ['a LISTSERV owner- notice', 'listserv-owner-notice.eml', 'mailing list manager owner-partners'],
    ['a notice from post_master', 'post-master-size-notice.eml', 'post_master'],
    ['a delay warning from MAILER_DAEMON', 'mailer-daemon-underscore-delay.eml', 'mailer_daemon'],
    ['a monitoring alert sent through Amazon SES', 'grafana-alert-via-ses.eml', 'x-ses-outgoing'],
    ['a cloud console notification', 'cloud-console-notification.eml', 'notification sender'],
    ['a Japanese carrier bounce (ISO-2022-JP encoded subject)', 'japanese-carrier-bounce.eml', 'bounce'],
    ['a Japanese bounce with a raw ISO-2022-JP subject', 'japanese-bounce-raw-subject.eml', 'bounce'],
    ['a German plain-text bounce', 'unzustellbar-plain-text.eml', 'bounce (subject)'],
  ])('opens no ticket and sends no acknowledgment for %s', async (_case, fixture, why) => {
    engine = await openRealWorldEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process(`real-world/${fixture}`);

    expect(outcome).toMatchObject({
      action: 'ignored',
      code: 'machine-mail',
      ticketNumber: null,
      sent: [],
      forwardedTo: [],
    });
    expect(outcome.reason).toContain(why);
    const after = await engine.store.counts();
    expect(after.tickets).toBe(before.tickets);
    expect(after.outcomes).toBe(before.outcomes + 1);
    expect((await engine.outcomes()).map((recorded) => recorded.key)).toContain(outcome.key);
    expect(await engine.sent()).toEqual([]);
  });

  it('reads the Japanese bounce subjects as Japanese', async () => {
    engine = await openRealWorldEngine();

    const encoded = await engine.process('real-world/japanese-carrier-bounce.eml');
    const raw = await engine.process('real-world/japanese-bounce-raw-subject.eml');

    expect(encoded.outcome.subject).toBe('メール送信エラー通知');
    expect(raw.outcome.subject).toBe('未達メール');
  });

  it('still opens the ticket for a monitoring alert that an automated-email rule names', async () => {
    engine = await openRealWorldEngine();
    // From alerts@, which alone marks machine-made mail, and without Auto-Submitted: the rule decides.
    const alert = readFixture('monitoring-alert-foreign-id.eml')
      .toString('utf8')
      .replace(/^Auto-Submitted:.*\r?\n/m, '')
      .replace('<alert-889123@rmm.example>', '<alert-889124@rmm.example>');

    const { outcome } = await engine.process(Buffer.from(alert, 'utf8'), 'alert.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'rule-account', accountId: 'GLOBEX' });
    expect(await engine.sent()).toEqual([]);
  });
});
