import type { OutcomeAction } from './decision.ts';

/**
 * Whether a new outcome replaces the one recorded for the same message: a failure gives way when the message is
 * later processed with any other result (an operator reprocessed it, or a retry got through); anything else is
 * final, so processing a message again writes and sends nothing. No recorded outcome: the new one is written.
 */
export function outcomeSupersedes(
  recorded: { action: OutcomeAction } | null,
  next: { action: OutcomeAction },
): boolean {
  return recorded === null || (recorded.action === 'failed' && next.action !== 'failed');
}
