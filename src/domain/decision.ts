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
}

export type Decision =
  | {
      action: 'ticket-created';
      accountId: string;
      contactId: string | null;
      acknowledge: boolean;
      code: string;
      reason: string;
      flags: string[];
    }
  | {
      action: 'filed';
      ticket: Ticket;
      forward: boolean;
      code: string;
      reason: string;
      flags: string[];
    }
  | { action: 'forwarded'; code: string; reason: string; flags: string[] }
  | { action: 'ignored'; code: string; reason: string; flags: string[] };

function accountNames(accounts: readonly Account[]): string {
  return accounts.map((account) => `${account.fileAs || account.company} (${account.id})`).join(', ');
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
 * The rules of DESIGN §2 as one function: automated-email rules, threading, new customer mail,
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
    return {
      action: 'filed',
      ticket,
      forward: true,
      code: staffCheck
        ? 'unauthenticated-staff-reply'
        : flags.includes('unrelated-sender')
          ? 'unrelated-sender-reply'
          : 'customer-reply',
      reason: `reply from ${who} filed under ticket ${ticket.number} (${via}) and forwarded`,
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

  let acknowledge = settings.autoAcknowledge;
  if (acknowledge && machine.noAutoReply) {
    acknowledge = false;
    flags.push(`no-ack:${machine.noAutoReply}`);
  } else if (acknowledge && facts.recentAutoReplies >= settings.autoReplyLimit) {
    acknowledge = false;
    flags.push('no-ack:rate-limited');
  } else if (acknowledge && facts.recentAutoRepliesAll >= settings.autoReplyGlobalLimit) {
    acknowledge = false;
    flags.push('no-ack:global-limit');
  }
  return {
    action: 'ticket-created',
    accountId,
    contactId,
    acknowledge,
    code,
    reason: reason + unknownTag,
    flags,
  };
}
