/** One watched mailbox's subscription and catch-up, as the Graph intake reports it in `status()`. */
export interface GraphMailboxStatus {
  mailbox: string;
  subscriptionId: string | null;
  subscriptionExpiresAt: string | null;
  lastNotificationAt: string | null;
  lastDeltaAt: string | null;
  lastError: { at: string; operation: string; message: string } | null;
  tokenError: string | null;
}

/** The intake's status, one entry per mailbox: one mailbox reports itself, several report `mailboxes`. */
export function graphMailboxStatuses(status: Record<string, unknown>): GraphMailboxStatus[] {
  const entries = Array.isArray(status.mailboxes)
    ? (status.mailboxes as Record<string, unknown>[])
    : [status];
  return entries.map((entry) => ({
    mailbox: text(entry.mailbox) ?? '?',
    subscriptionId: text(entry.subscriptionId),
    subscriptionExpiresAt: text(entry.subscriptionExpiresAt),
    lastNotificationAt: text(entry.lastNotificationAt),
    lastDeltaAt: text(entry.lastDeltaAt),
    lastError: (entry.lastError as GraphMailboxStatus['lastError']) ?? null,
    tokenError: text(entry.tokenError),
  }));
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
