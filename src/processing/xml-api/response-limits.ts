import type { CrmStore } from '../../crm/crm-store.ts';

const hourMs = 3_600_000;

export interface ResponseLimitSettings {
  /** XML_API_RESPONSE_LIMIT_PER_HOUR: responses to one recipient per hour. */
  responseLimitPerRecipient: number;
  /** AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: acknowledgments and responses together, to anybody, per hour. */
  autoReplyGlobalLimit: number;
}

/**
 * Why one more response to `to` would break an hourly limit, or null when it may go. Counts the outbox
 * of the hour before `now` and `prepared`: the recipients of this mail's earlier responses, which are not
 * in the outbox yet.
 */
export async function responseLimitReached(
  to: string,
  prepared: readonly string[],
  store: CrmStore,
  settings: ResponseLimitSettings,
  now: Date,
): Promise<string | null> {
  const since = new Date(now.getTime() - hourMs);
  const toRecipient =
    (await store.countOutgoingSince({ kinds: ['api-response'], recipient: to, since })) +
    prepared.filter((recipient) => recipient === to).length;
  if (toRecipient >= settings.responseLimitPerRecipient) {
    return `rate limit: responses to ${to} in the last hour: ${toRecipient}, at most ${settings.responseLimitPerRecipient} (XML_API_RESPONSE_LIMIT_PER_HOUR)`;
  }
  const all =
    (await store.countOutgoingSince({ kinds: ['acknowledgment', 'api-response'], since })) + prepared.length;
  if (all >= settings.autoReplyGlobalLimit) {
    return `rate limit: automatic replies (acknowledgments and XML API responses) in the last hour: ${all}, at most ${settings.autoReplyGlobalLimit} (AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR)`;
  }
  return null;
}
