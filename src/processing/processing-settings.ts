import type { AutomatedRule } from '../domain/automated-rules.ts';
import type { DecisionSettings } from '../domain/decision.ts';
import type { TicketTagFormat } from '../domain/ticket-tag.ts';

/** What the processing use case needs from configuration, already validated. */
export interface ProcessingSettings {
  supportAddress: string;
  internalSupportAddress: string;
  ticketTag: TicketTagFormat;
  decision: DecisionSettings;
  rules: readonly AutomatedRule[];
  acknowledgment: { subjectTemplate: string; bodyTemplate: string };
  maxMessageBytes: number;
  xmlApi: {
    enabled: boolean;
    password: string | null;
    sendResponses: boolean;
    responseBcc: string | null;
  };
}

export const defaultAcknowledgmentBody = `Hello {senderName},

Thank you for contacting us. We have opened ticket {ticketNumber} for your request:

  {subject}

Our team will get back to you. When you write to us about this request, please keep
{ticketTag} in the subject so that your message is added to the ticket.

Kind regards,
Support`;
