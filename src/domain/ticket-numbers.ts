/** No ticket number can follow: the highest one reached the largest number counted exactly. */
export class TicketNumbersExhausted extends Error {
  override name = 'TicketNumbersExhausted';
}

/**
 * The number of the next ticket: one after both the highest ticket number in the database and the last number
 * reserved (the counter), so a number is never handed out twice, even when its ticket was never written.
 */
export function nextTicketSequence(highest: number, counter: number): number {
  const last = Math.max(highest, counter);
  const next = last + 1;
  // Past this, `+ 1` no longer changes the number and every new ticket would collide with the last one.
  if (!Number.isSafeInteger(next)) {
    throw new TicketNumbersExhausted(
      `cannot number a new ticket: the highest ticket number (about ${last}) has reached ${Number.MAX_SAFE_INTEGER}, the largest number the connector counts exactly; renumber or remove that ticket in the CRM database`,
    );
  }
  return next;
}

/** The sequence a ticket number stands for (`0000042` → 42), or null when the text is not a ticket number. */
export function ticketSequenceOf(number: string): number | null {
  const digits = number.trim();
  return /^\d{1,18}$/.test(digits) ? Number(digits) : null;
}
