import type { ParsedEmail } from '../domain/email.ts';
import type { Decision } from '../domain/decision.ts';
import { decide } from '../domain/decision.ts';
import { detectAutomatedMail } from '../domain/automated-rules.ts';
import { autoReplyRecipient } from '../domain/auto-reply.ts';
import type {
  CrmStore,
  NewDocument,
  NewOutgoingMail,
  NewTicket,
  OutcomeRecord,
  ProcessingCommit,
  TicketHistoryNote,
} from '../crm/crm-store.ts';
import type { Logger } from '../log/logger.ts';
import { gatherFacts } from './gather-facts.ts';
import { composeAcknowledgment, composeFloodNotice, composeForward } from './outgoing-mail.ts';
import { MessageParseError, parseEmail } from './parse-email.ts';
import type { ProcessingSettings } from './processing-settings.ts';
import { messageKey, rawKey } from './message-key.ts';

/** What the XML API step (docs/xml-api.md) returns for a mail that is an API call. */
export interface ApiHandling {
  code: string;
  reason: string;
  details: Record<string, unknown>;
  ticketNumber: string | null;
  accountId: string | null;
  outgoing: NewOutgoingMail[];
}

/** Decides whether a mail is an XML API call and applies it; null = not an API call. */
export type ApiHandler = (
  email: ParsedEmail,
  messageKey: string,
  settings: ProcessingSettings,
) => Promise<ApiHandling | null>;

export interface ProcessDeps {
  store: CrmStore;
  settings: ProcessingSettings;
  logger: Logger;
  newId: () => string;
  now: () => Date;
  /** Step 2 of the decision order; absent or disabled = XML mail is handled like any other mail. */
  xmlApi?: ApiHandler | null;
  /** Reads MIME off the event loop (parse-pool.ts); absent = parseEmail on the calling thread. */
  parser?: MimeParser | null;
}

/** Something that reads a message as parseEmail does; closed when the service stops. */
export interface MimeParser {
  parse(raw: Buffer): Promise<ParsedEmail>;
  close(): Promise<void>;
}

/** The message read by the deps' parser, or by parseEmail here. */
export function parseWith(deps: Pick<ProcessDeps, 'parser'>, raw: Buffer): Promise<ParsedEmail> {
  return deps.parser ? deps.parser.parse(raw) : parseEmail(raw);
}

export interface MessageSource {
  /** What the outcome shows as the source: a file name, a mailbox id. */
  label: string;
  /** The intake item this message came from, when it came through the queue. */
  intakeId: string | null;
  /** The mailbox it came to, as the outcome names it; none for a file given to `process`. */
  mailbox?: string | null;
  /** The address its answers go out from (the mailbox it came to, of several); none = SUPPORT_ADDRESS. */
  supportAddress?: string | null;
}

/** Acknowledgments, forwards and API responses go out from the mailbox the message came to. */
function answeringFrom(deps: ProcessDeps, source: MessageSource): ProcessDeps {
  const address = source.supportAddress;
  if (!address || address === deps.settings.supportAddress) return deps;
  return { ...deps, settings: { ...deps.settings, supportAddress: address } };
}

export interface ProcessResult {
  outcome: OutcomeRecord;
  /** True when the message had been processed before: nothing was written or sent again. */
  duplicate: boolean;
}

type OutcomeDraft = ProcessingCommit['outcome'];

function recipientsOf(email: ParsedEmail): string[] {
  return [...email.to, ...email.cc, ...email.bcc].map((address) => address.address);
}

/** A damaged message is decided on what could be read; its outcome (and any forward) says what could not. */
function withReadingProblems(decision: Decision, problems: readonly string[]): Decision {
  if (problems.length === 0) return decision;
  return {
    ...decision,
    reason: `${decision.reason} (damaged message: ${problems.join('; ')})`,
    flags: [...decision.flags, 'damaged-mime'],
  };
}

function documentFor(
  email: ParsedEmail,
  ticketId: string,
  accountId: string,
  id: string,
  now: Date,
): NewDocument {
  return {
    id,
    ticketId,
    accountId,
    sender: email.from?.address ?? '',
    recipients: recipientsOf(email),
    date: (email.date ?? now).toISOString(),
    subject: email.subject,
    textBody: email.text,
    htmlBody: email.html,
    messageId: email.messageId,
    attachments: email.attachments,
    raw: email.raw,
  };
}

function draftOutcome(
  key: string,
  source: MessageSource,
  email: ParsedEmail | null,
  fields: Pick<OutcomeDraft, 'action' | 'code' | 'reason'> & Partial<OutcomeDraft>,
  outgoing: NewOutgoingMail[],
  internalSupport: string,
): OutcomeDraft {
  return {
    key,
    source: source.label,
    mailbox: source.mailbox ?? null,
    messageId: email?.messageId ?? null,
    from: email?.from?.address ?? null,
    subject: email?.subject ?? '',
    ticketNumber: null,
    accountId: null,
    flags: [],
    details: null,
    ...fields,
    forwardedTo: [
      ...new Set(
        outgoing
          .filter((mail) => mail.kind === 'forward' && mail.to.includes(internalSupport))
          .flatMap((mail) => mail.to),
      ),
    ],
    sent: outgoing
      .filter((mail) => !(mail.kind === 'forward' && mail.to.includes(internalSupport)))
      .map((mail) => ({ to: mail.to, subject: mail.subject, kind: mail.kind })),
  };
}

/**
 * One incoming message, end to end: read → (already done?) → XML API → gather facts → decide → compose
 * mails → commit ticket, document, outbox and outcome in one transaction. Sending happens afterwards,
 * from the outbox. Unreadable or oversized mail ends in a `failed` outcome and a forward, not an exception;
 * an exception means "try again later" (the database or the mailbox is unavailable).
 */
export async function processMessage(
  raw: Buffer,
  source: MessageSource,
  sharedDeps: ProcessDeps,
): Promise<ProcessResult> {
  const deps = answeringFrom(sharedDeps, source);
  const { store, settings } = deps;
  const now = deps.now();

  if (raw.length > settings.maxMessageBytes) {
    return commitFailure(raw, null, source, deps, {
      code: 'too-large',
      reason: `message of ${(raw.length / 1_048_576).toFixed(1)} MB exceeds MAX_MESSAGE_MB (${Math.round(settings.maxMessageBytes / 1_048_576)} MB); not parsed`,
      attachOriginal: false,
    });
  }
  let email: ParsedEmail;
  try {
    email = await parseWith(deps, raw);
  } catch (error) {
    if (!(error instanceof MessageParseError)) throw error;
    return commitFailure(raw, null, source, deps, {
      code: 'unreadable',
      reason: error.message,
      attachOriginal: true,
    });
  }
  const key = messageKey(email);
  const existing = await store.findOutcome(key);
  if (existing && existing.action !== 'failed') {
    return store.commitProcessing({
      outcome: existing,
      ticket: null,
      documents: [],
      outgoing: [],
      intakeId: source.intakeId,
    });
  }

  const reuse = await messageIdReuse(email, key, store);

  // Step 1 (automated-email rules) comes before step 2: a detected alert is never an API call.
  const detectedByRule = detectAutomatedMail(settings.rules, email.from, email.subject) !== null;
  if (settings.xmlApi.enabled && deps.xmlApi && !detectedByRule) {
    const api = await deps.xmlApi(email, key, settings);
    if (api) {
      const flags = reuse ? [reuse.flag] : [];
      const outgoing: NewOutgoingMail[] = [];
      for (const mail of api.outgoing) {
        // A refused transaction's forward counts against the sender's flood limit like any other.
        if (mail.kind === 'forward')
          await forwardWithinLimit(email, async () => mail, deps, { outgoing, flags });
        else outgoing.push(mail);
      }
      const outcome = draftOutcome(
        key,
        source,
        email,
        {
          action: 'api',
          code: api.code,
          reason: api.reason,
          ticketNumber: api.ticketNumber,
          accountId: api.accountId,
          details: api.details,
          flags,
        },
        outgoing,
        settings.internalSupportAddress,
      );
      return store.commitProcessing({
        outcome,
        ticket: null,
        documents: [],
        outgoing,
        intakeId: source.intakeId,
      });
    }
  }

  const facts = await gatherFacts(email, store, settings, now);
  const decision = withMessageIdReuse(
    withReadingProblems(decide(facts, settings.decision), email.problems),
    reuse,
  );
  const commit = await planCommit(email, key, decision, source, deps);
  deps.logger.debug({ key, action: decision.action, code: decision.code }, 'decided');
  return store.commitProcessing(commit);
}

/**
 * Another message already came with this Message-ID but other content or sender: processed on its own (a stranger
 * cannot pre-empt a genuine mail by sending first with its Message-ID), and flagged so a person can look.
 */
async function messageIdReuse(
  email: ParsedEmail,
  key: string,
  store: ProcessDeps['store'],
): Promise<{ flag: string; reason: string } | null> {
  if (!email.messageId) return null;
  const earlier = (await store.findOutcomesByMessageId(email.messageId, 5)).filter((o) => o.key !== key);
  if (earlier.length === 0) return null;
  const first = earlier[0]!;
  return {
    flag: 'message-id-reused',
    reason: `its Message-ID was seen before on a different message (from ${first.from ?? 'unknown'}, ${first.action}${first.ticketNumber ? ` ticket ${first.ticketNumber}` : ''})`,
  };
}

function withMessageIdReuse(decision: Decision, reuse: { flag: string; reason: string } | null): Decision {
  if (!reuse) return decision;
  return {
    ...decision,
    reason: `${decision.reason}; ${reuse.reason}`,
    flags: [...decision.flags, reuse.flag],
  };
}

const hourMs = 3_600_000;

/**
 * A forward to internal support, unless the sender has had FORWARD_LIMIT_PER_SENDER_PER_HOUR forwards in the last
 * hour: then the first mail over the limit brings one notice, and the rest of the hour's mail is recorded (and kept
 * in the mailbox or filed) but not forwarded one by one, so a flood cannot bury the helpdesk.
 */
async function forwardWithinLimit(
  email: ParsedEmail | null,
  forward: () => Promise<NewOutgoingMail>,
  deps: ProcessDeps,
  into: { outgoing: NewOutgoingMail[]; flags: string[] },
): Promise<void> {
  const sender = email?.from?.address;
  const since = new Date(deps.now().getTime() - hourMs);
  const count = (kind: 'forward' | 'notice') =>
    deps.store.countOutgoingSince({ kinds: [kind], aboutSender: sender, since });
  const forwarded = sender ? await count('forward') : 0;
  if (!sender || forwarded < deps.settings.forwardLimitPerSender) {
    into.outgoing.push(await forward());
    return;
  }
  const flag = 'forward-suppressed:flood';
  if (!into.flags.includes(flag)) into.flags.push(flag);
  if ((await count('notice')) === 0) {
    into.outgoing.push(await composeFloodNotice(sender, forwarded, deps.settings, deps.newId));
  }
}

async function planCommit(
  email: ParsedEmail,
  key: string,
  decision: Decision,
  source: MessageSource,
  deps: ProcessDeps,
): Promise<ProcessingCommit> {
  const { store, settings, newId } = deps;
  const now = deps.now();
  const outgoing: NewOutgoingMail[] = [];
  let ticket: NewTicket | null = null;
  const documents: NewDocument[] = [];
  let ticketNumber: string | null = null;
  let accountId: string | null = null;
  const flags = [...decision.flags];
  let ticketUpdate: ProcessingCommit['ticketUpdate'] = null;
  const history: TicketHistoryNote[] = [];

  switch (decision.action) {
    case 'ticket-created': {
      const account = await store.findAccountById(decision.accountId);
      const number = await store.reserveTicketNumber(settings.ticketTag.digits);
      ticket = {
        id: newId(),
        number,
        accountId: decision.accountId,
        contactId: decision.contactId,
        subject: email.subject || '(no subject)',
        status: 'open',
        priority: null,
        kind: null,
        source: 'email',
        followsTicketId: decision.followsTicket?.id ?? null,
      };
      ticketNumber = number;
      accountId = decision.accountId;
      if (decision.followsTicket) {
        const closed = decision.followsTicket;
        const sender = email.from?.address ?? 'unknown sender';
        history.push(
          {
            ticketId: ticket.id,
            accountId: ticket.accountId,
            description: `Follow-up of closed ticket ${closed.number}: ${sender} replied to it`,
          },
          {
            ticketId: closed.id,
            accountId: closed.accountId,
            description: `A reply from ${sender} opened follow-up ticket ${number}`,
          },
        );
      }
      documents.push(documentFor(email, ticket.id, ticket.accountId, newId(), now));
      if (decision.acknowledge) {
        const recipient = autoReplyRecipient(email);
        if (recipient && !settings.supportAddresses.includes(recipient.toLowerCase())) {
          const asTicket = { ...ticket, createdAt: now.toISOString(), updatedAt: now.toISOString() };
          outgoing.push(
            await composeAcknowledgment(
              email,
              asTicket,
              account?.fileAs || account?.company || '',
              recipient,
              settings,
              newId,
            ),
          );
        }
      }
      break;
    }
    case 'filed': {
      ticketNumber = decision.ticket.number;
      accountId = decision.ticket.accountId;
      const document = documentFor(email, decision.ticket.id, decision.ticket.accountId, newId(), now);
      documents.push(document);
      if (decision.reopen) {
        ticketUpdate = { id: decision.ticket.id, status: settings.reopenedTicketStatus };
        history.push({
          ticketId: decision.ticket.id,
          accountId: decision.ticket.accountId,
          description: `Reopened (was ${decision.ticket.status}): ${email.from?.address ?? 'unknown sender'} replied`,
        });
      }
      if (decision.forward) {
        const title = decision.flags.includes('unauthenticated-staff')
          ? 'Reply from an unauthenticated staff address filed'
          : decision.flags.includes('unrelated-sender')
            ? 'Reply from an unrelated sender filed'
            : 'Customer reply filed';
        await forwardWithinLimit(
          email,
          () =>
            composeForward(
              email,
              email.raw,
              { title, reason: decision.reason, ticket: decision.ticket, flags: decision.flags },
              settings,
              newId,
              document.id,
            ),
          deps,
          { outgoing, flags },
        );
      }
      break;
    }
    case 'forwarded':
      await forwardWithinLimit(
        email,
        () =>
          composeForward(
            email,
            email.raw,
            { title: 'Forwarded', reason: decision.reason, flags: decision.flags },
            settings,
            newId,
          ),
        deps,
        { outgoing, flags },
      );
      break;
    case 'ignored':
      break;
  }
  const outcome = draftOutcome(
    key,
    source,
    email,
    {
      action: decision.action,
      code: decision.code,
      reason: decision.reason,
      ticketNumber,
      accountId,
      flags,
    },
    outgoing,
    settings.internalSupportAddress,
  );
  return { outcome, ticket, documents, outgoing, ticketUpdate, history, intakeId: source.intakeId };
}

/** A message that cannot be processed: a `failed` outcome and a forward of what we have, once. */
export async function commitFailure(
  raw: Buffer | null,
  email: ParsedEmail | null,
  source: MessageSource,
  sharedDeps: ProcessDeps,
  failure: { code: string; reason: string; attachOriginal: boolean; key?: string },
): Promise<ProcessResult> {
  const deps = answeringFrom(sharedDeps, source);
  const key =
    failure.key ??
    (email ? messageKey(email) : raw ? rawKey(raw) : `intake:${source.intakeId ?? source.label}`);
  const outgoing: NewOutgoingMail[] = [];
  const note = {
    title: 'Processing failed',
    reason: `${failure.reason}${failure.attachOriginal ? '' : ` — the original stays in the mailbox (${source.label})`}`,
  };
  const flags: string[] = [];
  await forwardWithinLimit(
    email,
    () => composeForward(email, failure.attachOriginal ? raw : null, note, deps.settings, deps.newId),
    deps,
    { outgoing, flags },
  );
  const outcome = draftOutcome(
    key,
    source,
    email,
    {
      action: 'failed',
      code: failure.code,
      reason: failure.reason,
      flags,
    },
    outgoing,
    deps.settings.internalSupportAddress,
  );
  return deps.store.commitProcessing({
    outcome,
    ticket: null,
    documents: [],
    outgoing,
    intakeId: source.intakeId,
  });
}
