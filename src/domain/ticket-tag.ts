/** How ticket numbers look and how they are tagged in subjects, e.g. `[Ticket#0000042]`. */
export interface TicketTagFormat {
  /** Text before the number inside the brackets. Default `Ticket#`. */
  prefix: string;
  /** Width of the zero-padded number. Default 7. */
  digits: number;
}

/** A ticket's number as shown and stored: the sequence zero-padded to the configured width. */
export function formatTicketNumber(sequence: number, format: Pick<TicketTagFormat, 'digits'>): string {
  return String(sequence).padStart(format.digits, '0');
}

export function formatTicketTag(ticketNumber: string, format: TicketTagFormat): string {
  return `[${format.prefix}${ticketNumber}]`;
}

/** A number as the CRM stores it: digits only, zero-padded to the configured width. */
export function normaliseTicketNumber(value: string, format: TicketTagFormat): string | null {
  const digits = value.trim();
  if (!/^\d{1,18}$/.test(digits)) return null;
  const significant = digits.replace(/^0+(?=\d)/, '');
  return significant.padStart(format.digits, '0');
}

const tagPatterns = new Map<string, RegExp>();

/**
 * The tag's pattern: the prefix with any spacing between its words and symbols, any case, e.g.
 * `[Ticket#0000042]`, `[ ticket # 42 ]`. Without brackets (`Ticket#0000042`, typed by hand) the number
 * must have the full width, so that other systems' "Ticket#123" subjects are not taken for ours.
 */
function tagPattern(format: TicketTagFormat): RegExp {
  const cacheKey = `${format.digits}:${format.prefix}`;
  let pattern = tagPatterns.get(cacheKey);
  if (!pattern) {
    const pieces = format.prefix.trim().match(/[\p{L}\p{N}]+|[^\p{L}\p{N}\s]/gu) ?? [];
    const body = pieces.map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*');
    const bracketed = `\\[\\s*${body}\\s*(\\d{1,18})\\s*\\]`;
    const bare = `(?<![\\p{L}\\p{N}])${body}\\s*(\\d{${format.digits},18})(?!\\d)`;
    pattern = new RegExp(`${bracketed}|${bare}`, 'giu');
    tagPatterns.set(cacheKey, pattern);
  }
  return pattern;
}

/**
 * Ticket numbers tagged anywhere in a subject, in order of appearance, normalised and without repeats.
 * Reply and forward prefixes (`RE:`, `FW:`, `AW:`, `SV:`, `Antw:`...) need no special handling:
 * the tag is found wherever it stands.
 */
export function findTicketTags(subject: string, format: TicketTagFormat): string[] {
  const found: string[] = [];
  // Mail clients fold long subjects and some replace spaces with non-breaking or full-width ones.
  const flat = subject.normalize('NFKC').replace(/\s+/g, ' ');
  for (const match of flat.matchAll(tagPattern(format))) {
    const number = normaliseTicketNumber(match[1] ?? match[2] ?? '', format);
    if (number && !found.includes(number)) found.push(number);
  }
  return found;
}
