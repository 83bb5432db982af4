import { describe, expect, it } from 'vitest';
import {
  findTicketTags,
  formatTicketNumber,
  formatTicketTag,
  normaliseTicketNumber,
} from '../../src/domain/ticket-tag.ts';

const format = { prefix: 'Ticket#', digits: 7 };

describe('findTicketTags', () => {
  it.each([
    ['the plain tag', '[Ticket#0000042] Printer does not print', ['0000042']],
    ['after RE: FW: AW: SV: Antw: prefixes', 'RE: FW: AW: SV: Antw: [Ticket#0000042] Printer', ['0000042']],
    ['anywhere in the subject', 'Printer does not print [Ticket#0000042] (urgent)', ['0000042']],
    ['in any case', 're: [TICKET#0000042] printer', ['0000042']],
    ['with spaces inside the brackets', 'RE: [ Ticket # 0000042 ] Printer', ['0000042']],
    ['with runs of spaces and tabs', 'RE:\t[Ticket  #\t0000042]   Printer', ['0000042']],
    ['with non-breaking spaces', 'AW:\u00a0[Ticket\u00a0#\u00a00000042] Drucker', ['0000042']],
    ['with full-width characters', 'RE: [Ｔｉｃｋｅｔ＃００００042] Printer', ['0000042']],
    ['without brackets', 'Antw: Ticket#0000042 printer', ['0000042']],
    ['without leading zeros', 'RE: [Ticket#42] Printer', ['0000042']],
    ['with extra leading zeros', 'RE: [Ticket#000000042] Printer', ['0000042']],
    ['grown past the width', 'RE: [Ticket#10000000] Printer', ['10000000']],
    ['grown past the width, without brackets', 'RE: Ticket#10000000 Printer', ['10000000']],
    ['of sixteen digits', 'RE: [Ticket#1000000000000000] Printer', ['1000000000000000']],
    [
      'several tags, in order, without repeats',
      '[Ticket#0000107] FW: [Ticket#42] [ticket#0000042]',
      ['0000107', '0000042'],
    ],
  ])('finds the number %s', (_case, subject, expected) => {
    expect(findTicketTags(subject, format)).toEqual(expected);
  });

  it.each([
    ['no tag at all', 'Printer does not print'],
    ['the prefix glued to a longer word', 'RE: MyTicket#0000042 Printer'],
    ['another prefix', 'RE: [Case#0000042] Printer'],
    ['a prefix without a number', 'RE: [Ticket#] Printer'],
    ["another system's short number without brackets", 'Your Ticket#123456 has been updated'],
    ['an empty subject', ''],
  ])('finds nothing in %s', (_case, subject) => {
    expect(findTicketTags(subject, format)).toEqual([]);
  });

  it('recognises a configured prefix with its own spacing and case', () => {
    const custom = { prefix: 'MSP Case #', digits: 5 };
    expect(findTicketTags('RE: [msp   case#12] Backup failed', custom)).toEqual(['00012']);
    expect(findTicketTags('RE: [Ticket#12] Backup failed', custom)).toEqual([]);
  });
});

describe('ticket numbers and tags', () => {
  it('zero-pads numbers to the configured width and tags them with the prefix', () => {
    expect(formatTicketNumber(42, format)).toBe('0000042');
    expect(formatTicketTag('0000042', format)).toBe('[Ticket#0000042]');
  });

  it('normalises leading zeros and rejects what is not a number', () => {
    expect(normaliseTicketNumber('42', format)).toBe('0000042');
    expect(normaliseTicketNumber('00000000042', format)).toBe('0000042');
    expect(normaliseTicketNumber('0', format)).toBe('0000000');
    expect(normaliseTicketNumber('12345678', format)).toBe('12345678');
    expect(normaliseTicketNumber('4 2', format)).toBeNull();
    expect(normaliseTicketNumber('x42', format)).toBeNull();
  });
});
