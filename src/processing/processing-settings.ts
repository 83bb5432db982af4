import type { AutomatedRule } from '../domain/automated-rules.ts';
import type { DecisionSettings } from '../domain/decision.ts';
import type { TicketTagFormat } from '../domain/ticket-tag.ts';

/** What the processing use case needs from configuration, already validated. */
export interface ProcessingSettings {
  /** The From of what the connector sends; a message's own mailbox replaces it when several are served. */
  supportAddress: string;
  /**
   * Every support address: SUPPORT_ADDRESS and each mailbox of SUPPORT_MAILBOX that is an address (lower case).
   * Mail from any of them is machine-made, and nothing automatic is ever sent to one.
   */
  supportAddresses: readonly string[];
  internalSupportAddress: string;
  ticketTag: TicketTagFormat;
  decision: DecisionSettings;
  rules: readonly AutomatedRule[];
  acknowledgment: { subjectTemplate: string; bodyTemplate: string };
  maxMessageBytes: number;
  /** Automatic replies of every kind per hour (acknowledgments and XML API responses together). */
  autoReplyGlobalLimit: number;
  /** Forwards about one sender per hour before one notice replaces them. */
  forwardLimitPerSender: number;
  /** What proves a staff sender genuine: Exchange Online's stamps, or nothing (the From header is believed). */
  staffTrust: 'exchange' | 'none';
  /** The status a reply gives a closed ticket it reopens. */
  reopenedTicketStatus: string;
  /** With UNKNOWN_SENDERS=catch-all: the account that collects unknown senders' tickets; else null. */
  catchAllAccountId: string | null;
  xmlApi: {
    enabled: boolean;
    password: string | null;
    sendResponses: boolean;
    responseBcc: string | null;
    /** Responses per recipient per hour. */
    responseLimitPerRecipient: number;
  };
}

export const defaultAcknowledgmentBody = `Hello {senderName},

Thank you for contacting us. We have opened ticket {ticketNumber} for your request:

  {subject}

Our team will get back to you. When you write to us about this request, please keep
{ticketTag} in the subject so that your message is added to the ticket.

Kind regards,
Support`;
