import { supportMailboxes } from '../config/config.ts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Services } from '../composition-root.ts';
import { composeMail } from '../processing/compose-mail.ts';
import { newMessageId } from '../processing/thread-reference.ts';
import { mailboxFailure } from './mailbox-failure.ts';
import { CliError, type Output } from './output.ts';

export const testMailSubject = 'Email Connector test mail';

const addressPattern = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/**
 * `send-test --to ADDRESS`: one short mail straight through the mailbox port (not the outbox), so that the answer
 * printed is the mailbox's own: Graph accepted it, or why not.
 */
export async function sendTestCommand(
  services: Services,
  to: string | undefined,
  output: Output,
): Promise<void> {
  const { config, mailbox, local } = services;
  if (!to) throw new CliError('usage: email-connector send-test --to ADDRESS', 2);
  const recipient = to.trim().toLowerCase();
  if (!addressPattern.test(recipient)) {
    throw new CliError(`send-test: --to "${to}" is not an email address (e.g. --to someone@example.com)`, 2);
  }
  const own = [config.SUPPORT_ADDRESS, ...supportMailboxes(config).map((mailbox) => mailbox.toLowerCase())];
  if (own.includes(recipient)) {
    // The connector never mails its own mailbox: the mail would come back in as intake.
    throw new CliError(`send-test: --to ${recipient} is the support mailbox itself; name another address`, 2);
  }
  const messageId = newMessageId(config.SUPPORT_ADDRESS);
  const via = local ? 'the local mailbox folder' : `Microsoft Graph (mailbox ${config.SUPPORT_MAILBOX})`;
  const mime = await composeMail({
    from: config.SUPPORT_ADDRESS,
    to: [recipient],
    subject: testMailSubject,
    text: [
      `This is a test mail from the Email Connector, sent through ${via} by "email-connector send-test".`,
      'It shows that the connector can send as the support address. No reply is needed.',
      '',
    ].join('\n'),
    messageId,
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Email-Connector': 'test' },
    date: services.deps.now(),
  });
  const outboxId = `send-test-${randomUUID()}`;
  try {
    await mailbox.send(mime, { outboxId });
  } catch (error) {
    throw mailboxFailure('send-test', error, config, { action: 'send as', permission: 'Mail.Send' });
  }
  if (local) {
    // LocalMailbox writes a sent mail as sent/<outbox id>.eml.
    output.out(
      `wrote a test mail to ${recipient} as ${join(local.root, 'sent', `${outboxId}.eml`)} (local mailbox folder: nothing leaves this machine)`,
    );
  } else {
    output.out(
      `Graph accepted a test mail to ${recipient} from ${config.SUPPORT_ADDRESS} (sendMail as ${config.SUPPORT_MAILBOX}, Message-ID <${messageId}>)`,
    );
  }
}
