import type { Account, AccountMatch, Employee, Ticket } from './crm.ts';
import type { MachineMailVerdict } from './auto-generated.ts';
import type { RuleDetection } from './automated-rules.ts';
import type { StaffAuthentication } from './staff-authentication.ts';

/** The outcome vocabulary (docs/outcomes.md). */
export type OutcomeAction = 'ticket-created' | 'filed' | 'forwarded' | 'ignored' | 'failed' | 'api';

/** Everything the decision needs to know, looked up beforehand; `decide` itself does no I/O. */
export interface DecisionFacts {
  machine: MachineMailVerdict;
  /** Set when an automated-email rule detected the message. */
  rule: null | {
    detection: RuleDetection;
    /** Accounts the rule's lookups found (the first lookup that found any); empty = none. */
    accounts: Account[];
    /** Which lookup found them, e.g. `name "Acme Ltd"`, or why none did. */
    lookedUp: string;
  };
  /** Ticket numbers tagged in the subject, and the first that exists. */
  taggedNumbers: string[];
  taggedTicket: Ticket | null;
  /** A ticket found through In-Reply-To/References or a reference token the connector sent. */
  threadTicket: null | { ticket: Ticket; via: 'in-reply-to' | 'references' | 'reference-token' };
  /** The sender as an employee (Email1/Email2), active or not. */
  employee: Employee | null;
  /** For an active employee (or internal support): whether the mail is genuinely theirs (STAFF_TRUST); else null. */
  staffAuthentication: StaffAuthentication | null;
  /** Accounts whose Email1/Email2/contact holds the sender's full address. */
  addressMatches: AccountMatch[];
  /** Accounts whose Email1/Email2/contact holds the sender's bare domain (only looked up when needed). */
  domainMatches: Account[];
  /** With UNKNOWN_SENDERS=catch-all and no account matching: the catch-all account (null when it does not exist). */
  catchAllAccount?: Account | null;
  /** Automatic replies sent to the sender within the rate-limit window. */
  recentAutoReplies: number;
  /** Automatic replies of every kind to anybody within the window (the global cap). */
  recentAutoRepliesAll: number;
}

export interface DecisionSettings {
  autoAcknowledge: boolean;
  /** Whether bulk/list mail from a known customer opens a ticket (it never gets an automatic reply). */
  bulkMailOpensTicket: boolean;
  /** What to do with machine-made mail that threads to no ticket. */
  unthreadedMachineMail: 'ignore' | 'forward';
  autoReplyLimit: number;
  /** Automatic replies per hour in all, whoever they go to (against floods of forged senders). */
  autoReplyGlobalLimit: number;
  /** Mail no account matches: forward to internal support, or open the ticket under the catch-all account. */
  unknownSenders: 'forward' | 'catch-all';
  /** A customer's reply to a closed ticket: reopen it, open a follow-up ticket, or only file it. */
  replyToClosedTicket: 'reopen' | 'follow-up' | 'file';
  /** Statuses that count as closed, lower-case. */
  closedTicketStatuses: readonly string[];
}

export type Decision =
  | {
      action: 'ticket-created';
      accountId: string;
      contactId: string | null;
      acknowledge: boolean;
      /** Set when the new ticket follows up a closed one the mail replied to. */
      followsTicket?: Ticket | null;
      code: string;
      reason: string;
      flags: string[];
    }
  | {
      action: 'filed';
      ticket: Ticket;
      forward: boolean;
      /** The ticket was closed and this reply reopens it. */
      reopen?: boolean;
      code: string;
      reason: string;
      flags: string[];
    }
  | { action: 'forwarded'; code: string; reason: string; flags: string[] }
  | { action: 'ignored'; code: string; reason: string; flags: string[] };

function accountNames(accounts: readonly Account[]): string {
  return accounts.map((account) => `${account.fileAs || account.company} (${account.id})`).join(', ');
}

/** Whether a new ticket's sender gets an acknowledgment; when not, a flag says why. */
function acknowledge(facts: DecisionFacts, settings: DecisionSettings, flags: string[]): boolean {
  if (!settings.autoAcknowledge) return false;
  if (facts.machine.noAutoReply) flags.push(`no-ack:${facts.machine.noAutoReply}`);
  else if (facts.recentAutoReplies >= settings.autoReplyLimit) flags.push('no-ack:rate-limited');
  else if (facts.recentAutoRepliesAll >= settings.autoReplyGlobalLimit) flags.push('no-ack:global-limit');
  else return true;
  return false;
}

/** The threaded ticket: subject tag first, then Message-ID references and tokens. */
function threadedTicket(facts: DecisionFacts): { ticket: Ticket; via: string } | null {
  if (facts.taggedTicket) return { ticket: facts.taggedTicket, via: 'subject tag' };
  if (facts.threadTicket) return { ticket: facts.threadTicket.ticket, via: facts.threadTicket.via };
  return null;
}

/** Whether the sender belongs to the ticket's account (by address, contact or domain). */
function senderBelongsTo(ticket: Ticket, facts: DecisionFacts): boolean {
  return (
    facts.addressMatches.some((match) => match.account.id === ticket.accountId) ||
    facts.domainMatches.some((account) => account.id === ticket.accountId)
  );
}

/**
 * The decision order of docs/outcomes.md as one function: automated-email rules, threading, new customer mail,
 * and the fallback to internal support. The XML API is decided before this (see processing).
 */
export function decide(facts: DecisionFacts, settings: DecisionSettings): Decision {
  const flags: string[] = [];
  const { machine } = facts;

  // 1. Automated-email rules run first, so a monitoring alert a rule names still opens its ticket.
  if (facts.rule) {
    const { detection, accounts, lookedUp } = facts.rule;
    const ruleName = `rule "${detection.rule.name}"`;
    if (detection.skipPhrase !== null) {
      return {
        action: 'forwarded',
        code: 'rule-skip',
        reason: `${ruleName}: subject contains skip phrase "${detection.skipPhrase}"`,
        flags,
      };
    }
    if (accounts.length === 1) {
      const account = accounts[0]!;
      return {
        action: 'ticket-created',
        accountId: account.id,
        contactId: null,
        acknowledge: false,
        code: 'rule-account',
        reason: `${ruleName}: account ${accountNames(accounts)} found by ${lookedUp}`,
        flags,
      };
    }
    return {
      action: 'forwarded',
      code: accounts.length === 0 ? 'rule-account-not-found' : 'rule-account-ambiguous',
      reason:
        accounts.length === 0
          ? `${ruleName}: no account found (${lookedUp})`
          : `${ruleName}: several accounts found by ${lookedUp}: ${accountNames(accounts)}`,
      flags,
    };
  }

  // 3. Threading: subject tag, then references and reference tokens.
  const threaded = threadedTicket(facts);
  if (facts.taggedNumbers.length > 0 && !facts.taggedTicket) {
    flags.push(`unknown-ticket:${facts.taggedNumbers.join(',')}`);
  }
  if (threaded) {
    const { ticket, via } = threaded;
    if (machine.autoGenerated) {
      return {
        action: 'filed',
        ticket,
        forward: false,
        code: 'machine-reply-filed',
        reason: `machine-made mail (${machine.autoGenerated}) filed quietly under ticket ${ticket.number} (${via})`,
        flags,
      };
    }
    const staffCheck = facts.employee?.active ? facts.staffAuthentication : null;
    if (facts.employee?.active && staffCheck?.genuine !== false) {
      return {
        action: 'filed',
        ticket,
        forward: false,
        code: 'employee-reply',
        reason: `active employee ${facts.employee.name} replied on ticket ${ticket.number} (${via})`,
        flags,
      };
    }
    // A staff address without proof is what an impersonator would write: the customer path, flagged.
    if (staffCheck) flags.push('unauthenticated-staff');
    if (!facts.employee && !senderBelongsTo(ticket, facts)) flags.push('unrelated-sender');
    const who = staffCheck
      ? `a sender claiming to be active employee ${facts.employee!.name}, not authenticated (${staffCheck.evidence})`
      : facts.employee
        ? `inactive employee ${facts.employee.name}`
        : flags.includes('unrelated-sender')
          ? "a sender unrelated to the ticket's account"
          : 'the customer';
    // Only the customer's own reply reopens a closed ticket or opens its follow-up; anyone else's is filed.
    const customer = !staffCheck && !facts.employee && !flags.includes('unrelated-sender');
    const closed = settings.closedTicketStatuses.includes(ticket.status.trim().toLowerCase());
    if (closed && customer && settings.replyToClosedTicket === 'follow-up') {
      flags.push(`follow-up-of:${ticket.number}`);
      const contactId =
        facts.addressMatches.find((match) => match.account.id === ticket.accountId)?.contactId ?? null;
      return {
        action: 'ticket-created',
        accountId: ticket.accountId,
        contactId,
        acknowledge: acknowledge(facts, settings, flags),
        followsTicket: ticket,
        code: 'follow-up',
        reason: `reply from the customer to closed ticket ${ticket.number} (${via}): a follow-up ticket was opened`,
        flags,
      };
    }
    const reopen = closed && customer && settings.replyToClosedTicket === 'reopen';
    if (reopen) flags.push('reopened');
    else if (closed) flags.push('closed-ticket');
    return {
      action: 'filed',
      ticket,
      forward: true,
      reopen,
      code: staffCheck
        ? 'unauthenticated-staff-reply'
        : flags.includes('unrelated-sender')
          ? 'unrelated-sender-reply'
          : 'customer-reply',
      reason: `reply from ${who} filed under ${closed ? 'closed ' : ''}ticket ${ticket.number} (${via})${reopen ? ', reopened' : ''} and forwarded`,
      flags,
    };
  }
  const unknownTag =
    facts.taggedNumbers.length > 0 ? `; tagged ticket ${facts.taggedNumbers.join(', ')} does not exist` : '';

  // Loop protection: machine-made mail never opens a ticket.
  if (machine.autoGenerated) {
    return {
      action: settings.unthreadedMachineMail === 'forward' ? 'forwarded' : 'ignored',
      code: 'machine-mail',
      reason: `machine-made mail (${machine.autoGenerated}) opens no ticket${unknownTag}`,
      flags,
    };
  }

  // 4. New mail from a customer: full address first, then the domain.
  const byAddress = [...new Map(facts.addressMatches.map((match) => [match.account.id, match])).values()];
  let accountId: string | null = null;
  let contactId: string | null = null;
  let code = '';
  let reason = '';
  if (byAddress.length === 1) {
    const match = byAddress[0]!;
    accountId = match.account.id;
    contactId = match.contactId;
    code = 'new-mail-address';
    reason = `sender address matches account ${accountNames([match.account])} (${match.via})`;
  } else if (byAddress.length > 1) {
    return {
      action: 'forwarded',
      code: 'duplicate-address',
      reason: `sender address is on several accounts: ${accountNames(byAddress.map((match) => match.account))}${unknownTag}`,
      flags,
    };
  } else if (facts.domainMatches.length === 1) {
    const account = facts.domainMatches[0]!;
    accountId = account.id;
    code = 'new-mail-domain';
    reason = `sender domain matches account ${accountNames([account])}`;
  } else if (facts.domainMatches.length > 1) {
    return {
      action: 'forwarded',
      code: 'duplicate-domain',
      reason: `duplicate domain: the sender's domain is on several accounts: ${accountNames(facts.domainMatches)}${unknownTag}`,
      flags,
    };
  }

  if (accountId === null && settings.unknownSenders === 'catch-all') {
    const catchAll = facts.catchAllAccount ?? null;
    if (!catchAll) {
      return {
        action: 'forwarded',
        code: 'catch-all-missing',
        reason: `no account matches the sender's address or domain, and the catch-all account (CATCH_ALL_ACCOUNT_ID) does not exist${unknownTag}`,
        flags,
      };
    }
    accountId = catchAll.id;
    code = 'catch-all';
    reason = `no account matches the sender's address or domain: opened under the catch-all account ${accountNames([catchAll])}`;
    flags.push('catch-all');
  }
  if (accountId === null) {
    return {
      action: 'forwarded',
      code: 'no-match',
      reason: `no account matches the sender's address or domain${unknownTag}`,
      flags,
    };
  }
  if (machine.bulk && !settings.bulkMailOpensTicket) {
    return {
      action: 'forwarded',
      code: 'bulk-mail',
      reason: `bulk or list mail (${machine.bulk}) from a known account opens no ticket (BULK_MAIL_OPENS_TICKET=false)`,
      flags,
    };
  }

  return {
    action: 'ticket-created',
    accountId,
    contactId,
    acknowledge: acknowledge(facts, settings, flags),
    code,
    reason: reason + unknownTag,
    flags,
  };
}
