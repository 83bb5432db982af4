import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findTicketTags,
  formatTicketNumber,
  formatTicketTag,
  normaliseTicketNumber,
  type TicketTagFormat,
} from '../../src/domain/ticket-tag.ts';

// Fixed seeds: a failure is the same failure on every machine; fast-check prints the counterexample.
const runs = { seed: 42, numRuns: 1_000 };

const formats: fc.Arbitrary<TicketTagFormat> = fc.record({
  prefix: fc.oneof(
    fc.constantFrom('Ticket#', 'Ticket #', 'Case ', 'SR-', 'REQ#', 'Ticket:', 'Incident-', 'TT'),
    fc.stringMatching(/^[A-Za-z]{1,8}[#:-]?$/),
  ),
  digits: fc.integer({ min: 1, max: 10 }),
});

/** Ticket numbers as the CRM stores them: zero-padded to the format's width, up to 18 digits. */
const ticketNumbers = (format: TicketTagFormat): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 0, max: 9_999_999 }).map((sequence) => formatTicketNumber(sequence, format)),
    fc
      .bigInt({ min: 0n, max: 10n ** 18n - 1n })
      .map((sequence) => sequence.toString().padStart(format.digits, '0')),
  );

/** What mail clients put between the pieces of a tag: nothing, spaces, tabs, non-breaking and full-width spaces. */
const spacing = fc.constantFrom('', '', ' ', '  ', '\t', '\u00a0', '\u3000', ' \u00a0');

const replyPrefixes = fc.array(
  fc.tuple(fc.constantFrom('RE:', 'Re:', 're:', 'FW:', 'Fwd:', 'AW:', 'WG:', 'SV:', 'Antw:', 'VS:'), spacing),
  { maxLength: 6 },
);

/** Text around a tag that cannot itself hold a tag or touch its brackets. */
const surroundingText = fc.string({ maxLength: 40 }).map((text) => text.replace(/[[\]\d]/g, ''));

/** The tag as a person's mail client may return it: case changed and spaces added between its pieces. */
function mangledTag(
  tag: string,
  cases: readonly boolean[],
  spaces: readonly string[],
  fullWidth: boolean,
): string {
  // Pieces as the parser sees them: runs of letters or digits, and single symbols.
  const pieces = tag.match(/[A-Za-z]+|\d+|[^A-Za-z\d\s]/g) ?? [];
  const text = pieces
    .map((piece, index) => {
      const cased = cases[index % cases.length] ? piece.toUpperCase() : piece.toLowerCase();
      return index === 0 ? cased : `${spaces[index % spaces.length]}${cased}`;
    })
    .join('');
  if (!fullWidth) return text;
  // Some clients (and Japanese input methods) write brackets and digits full-width.
  return text
    .replace('[', '\uff3b')
    .replace(/\]$/, '\uff3d')
    .replace(/\d/g, (digit) => String.fromCharCode(0xff10 + Number(digit)));
}

describe('ticket tags in subjects (properties)', () => {
  it('finds every tag it formats, whatever replies, forwards and mail clients did to the subject', () => {
    fc.assert(
      fc.property(
        formats.chain((format) => fc.tuple(fc.constant(format), ticketNumbers(format))),
        replyPrefixes,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        fc.array(spacing, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        surroundingText,
        surroundingText,
        ([format, number], prefixes, cases, spaces, fullWidth, before, after) => {
          const tag = mangledTag(formatTicketTag(number, format), cases, spaces, fullWidth);
          const replies = prefixes.map(([prefix, space]) => `${prefix}${space}`).join(' ');
          const subject = `${replies} ${before} ${tag} ${after}`;
          expect(findTicketTags(subject, format)).toContain(normaliseTicketNumber(number, format));
        },
      ),
      runs,
    );
  });

  it('never throws, whatever the subject and the configured prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.integer({ min: 1, max: 18 }),
        (subject, prefix, digits) => {
          const found = findTicketTags(subject, { prefix, digits });
          expect(Array.isArray(found)).toBe(true);
        },
      ),
      runs,
    );
  });

  it('never finds a number that is not written in the subject', () => {
    // Subjects full of near-tags: digits, brackets, prefix pieces and spacing in any order.
    const pieces = fc.constantFrom(
      '[',
      ']',
      'Ticket',
      '#',
      ' ',
      '0',
      '7',
      '42',
      '0000042',
      'RE:',
      'x',
      '\uff10',
      '\u00a0',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 30 }), formats, (parts, format) => {
        const subject = parts.join('');
        // Compatibility folding is what the parser reads: full-width digits count as the digits they show.
        const written = subject.normalize('NFKC');
        for (const number of findTicketTags(subject, format)) {
          expect(number).toMatch(/^\d+$/);
          expect(written).toContain(number.replace(/^0+(?=\d)/, ''));
        }
      }),
      runs,
    );
  });

  it('finds each number once, in order of appearance, padded to the configured width', () => {
    fc.assert(
      fc.property(
        formats,
        fc.array(fc.integer({ min: 1, max: 99_999 }), { minLength: 1, maxLength: 5 }),
        (format, sequences) => {
          const numbers = sequences.map((sequence) => formatTicketNumber(sequence, format));
          const subject = numbers.map((number) => formatTicketTag(number, format)).join(' and ');
          const expected = [...new Set(numbers.map((number) => normaliseTicketNumber(number, format)))];
          expect(findTicketTags(subject, format)).toEqual(expected);
        },
      ),
      runs,
    );
  });
});
