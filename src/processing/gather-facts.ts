import type { Account } from '../domain/crm.ts';
import { accountsNamedIn } from '../domain/account-names.ts';
import type { DecisionFacts } from '../domain/decision.ts';
import type { ParsedEmail } from '../domain/email.ts';
import { domainOf } from '../domain/addresses.ts';
import { classifyMachineMail } from '../domain/auto-generated.ts';
import { detectAutomatedMail, subjectCandidates, type AccountLookup } from '../domain/automated-rules.ts';
import { findTicketTags } from '../domain/ticket-tag.ts';
import { autoReplyRecipient } from '../domain/auto-reply.ts';
import { pickEmployee } from '../domain/employees.ts';
import { authenticateStaffSender } from '../domain/staff-authentication.ts';
import type { CrmRecords, Outbox } from '../crm/crm-store.ts';
import type { ProcessingSettings } from './processing-settings.ts';
import { findReferenceTokens } from './thread-reference.ts';

const hourMs = 3_600_000;

/** Mail the connector sends on its own in answer to a mail: the global hourly cap counts these. */
export const autoReplyKinds = ['acknowledgment', 'api-response'] as const;

/** Tries one account lookup of an automated-email rule. */
async function lookupAccounts(
  lookup: AccountLookup,
  email: ParsedEmail,
  store: CrmRecords,
): Promise<{ accounts: Account[]; lookedUp: string }> {
  if (lookup.by === 'sender') {
    const address = email.from?.address;
    if (!address) return { accounts: [], lookedUp: 'sender (none)' };
    const byAddress = await store.findAccountsByAddress(address);
    if (byAddress.length > 0) {
      const accounts = [...new Map(byAddress.map((match) => [match.account.id, match.account])).values()];
      return { accounts, lookedUp: `sender address ${address}` };
    }
    const domain = domainOf(address);
    const accounts = domain ? await store.findAccountsByDomain(domain) : [];
    return { accounts, lookedUp: `sender domain ${domain ?? '?'}` };
  }
  const candidates = subjectCandidates(lookup, email.subject);
  if (lookup.by === 'name') {
    if (lookup.pattern) {
      const name = candidates[0];
      return name
        ? {
            accounts: await store.findAccountsByName(name),
            lookedUp: `account name "${name}" in the subject`,
          }
        : { accounts: [], lookedUp: 'account name: the subject pattern did not match' };
    }
    return {
      accounts: accountsNamedIn(email.subject, await store.findAccountsNameCandidates(email.subject)),
      lookedUp: 'account name in the subject',
    };
  }
  if (candidates.length === 0)
    return { accounts: [], lookedUp: `${lookup.by}: the subject pattern did not match` };
  if (lookup.by === 'recordId') {
    return {
      accounts: await store.findAccountsByIds(candidates),
      lookedUp: `record id in the subject${lookup.pattern ? ` ("${candidates[0]}")` : ''}`,
    };
  }
  return {
    accounts: await store.findAccountsByForeignId(candidates, lookup.field),
    lookedUp: `${lookup.field ? `custom field "${lookup.field}"` : 'foreign id'} in the subject${lookup.pattern ? ` ("${candidates[0]}")` : ''}`,
  };
}

/** Looks up everything the decision needs. All look-ups are index seeks except named-account rules. */
export async function gatherFacts(
  email: ParsedEmail,
  store: CrmRecords & Pick<Outbox, 'countOutgoingSince'>,
  settings: ProcessingSettings,
  now: Date,
): Promise<DecisionFacts> {
  const machine = classifyMachineMail(email, settings.supportAddresses);
  const sender = email.from?.address ?? null;

  let rule: DecisionFacts['rule'] = null;
  const detection = detectAutomatedMail(settings.rules, email.from, email.subject);
  if (detection) {
    let found: { accounts: Account[]; lookedUp: string } = {
      accounts: [],
      lookedUp: 'no account lookup configured',
    };
    if (!detection.skipPhrase) {
      const tried: string[] = [];
      for (const lookup of detection.rule.accountLookups) {
        found = await lookupAccounts(lookup, email, store);
        if (found.accounts.length > 0) break;
        tried.push(found.lookedUp);
      }
      if (found.accounts.length === 0 && tried.length > 0)
        found = { accounts: [], lookedUp: tried.join('; ') };
    }
    rule = { detection, accounts: found.accounts, lookedUp: found.lookedUp };
  }

  const taggedNumbers = findTicketTags(email.subject, settings.ticketTag);
  let taggedTicket = null;
  for (const number of taggedNumbers) {
    taggedTicket = await store.findTicketByNumber(number);
    if (taggedTicket) break;
  }

  let threadTicket: DecisionFacts['threadTicket'] = null;
  if (!taggedTicket) {
    const tokens = findReferenceTokens(email.text, email.html);
    const inReplyTo = await store.findTicketByThread(email.inReplyTo, []);
    if (inReplyTo) threadTicket = { ticket: inReplyTo.ticket, via: 'in-reply-to' };
    else {
      const found = await store.findTicketByThread(email.references, tokens);
      if (found) {
        threadTicket = {
          ticket: found.ticket,
          via: found.via === 'message-id' ? 'references' : 'reference-token',
        };
      }
    }
  }

  const addressMatches = sender ? await store.findAccountsByAddress(sender) : [];
  const domain = sender ? domainOf(sender) : null;
  const threaded = taggedTicket ?? threadTicket?.ticket ?? null;
  // The domain is only consulted when no full address matched, or to relate a reply to its ticket's account.
  const needDomain =
    addressMatches.length === 0 ||
    (threaded !== null && !addressMatches.some((m) => m.account.id === threaded.accountId));
  const domainMatches = domain && needDomain ? await store.findAccountsByDomain(domain) : [];
  const employee = pickEmployee(sender ? await store.findEmployeesByAddress(sender) : [], {
    address: sender,
    internalSupportAddress: settings.internalSupportAddress,
  });
  const catchAllAccount =
    settings.catchAllAccountId && addressMatches.length === 0 && domainMatches.length === 0
      ? await store.findAccountById(settings.catchAllAccountId)
      : null;
  const staffAuthentication =
    employee?.active && sender ? authenticateStaffSender(email.headers, sender, settings.staffTrust) : null;
  const hourAgo = new Date(now.getTime() - hourMs);
  const replyTarget = autoReplyRecipient(email);
  const recentAutoReplies = replyTarget
    ? await store.countOutgoingSince({ kinds: ['acknowledgment'], recipient: replyTarget, since: hourAgo })
    : 0;
  const recentAutoRepliesAll = await store.countOutgoingSince({ kinds: autoReplyKinds, since: hourAgo });

  return {
    machine,
    rule,
    taggedNumbers,
    taggedTicket,
    threadTicket,
    employee,
    staffAuthentication,
    catchAllAccount,
    addressMatches,
    domainMatches,
    recentAutoReplies,
    recentAutoRepliesAll,
  };
}
