import { GraphApi } from '../../src/mailbox/graph/graph-api.ts';
import { GraphMailbox } from '../../src/mailbox/graph/graph-mailbox.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { newId } from '../graph-stand-in/stand-in-mailbox.ts';
import { describeMailboxContract } from '../mailbox/mailbox.contract.ts';
import { mailboxName, token } from './helpers.ts';

describeMailboxContract('Microsoft Graph (HTTPS stand-in)', async () => {
  const standIn = await GraphStandIn.start({ token });
  const mailbox = new GraphMailbox({
    api: new GraphApi({
      credential: standIn.credential,
      baseUrl: standIn.baseUrl,
      fetchOptions: standIn.fetchOptions,
      timeoutMs: 2_000,
    }),
    mailbox: mailboxName,
  });
  return {
    mailbox,
    address: mailboxName,
    arrive: async (mime) => standIn.addMessage(mailboxName, mime),
    sent: async () =>
      standIn.sentMail.filter((entry) => entry.mailbox === mailboxName).map((entry) => entry.raw),
    unknownId: newId(),
    close: () => standIn.close(),
  };
});
