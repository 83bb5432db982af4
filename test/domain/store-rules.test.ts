import { describe, expect, it } from 'vitest';
import { accountsNamedIn } from '../../src/domain/account-names.ts';
import type { Account, Employee } from '../../src/domain/crm.ts';
import type { OutcomeAction } from '../../src/domain/decision.ts';
import { pickEmployee } from '../../src/domain/employees.ts';
import { outcomeSupersedes } from '../../src/domain/outcomes.ts';
import {
  nextTicketSequence,
  ticketSequenceOf,
  TicketNumbersExhausted,
} from '../../src/domain/ticket-numbers.ts';

function account(id: string, fileAs: string): Account {
  return {
    id,
    company: `${fileAs} Ltd`,
    fileAs,
    email1: null,
    email2: null,
    accountNumber: null,
    foreignId: null,
    customFields: {},
    contact: null,
    phone: null,
    address: null,
    city: null,
    zip: null,
    country: null,
  };
}

const employee = (id: string, active: boolean): Employee => ({
  id,
  name: id,
  email1: 'shared@msp.example',
  email2: null,
  active,
});

describe('accounts named in a subject', () => {
  const acme = account('ACME', 'Acme');
  const acmeEurope = account('ACME-EU', 'Acme Europe');
  const initech = account('INITECH', 'Initech');
  const unnamed = account('NONAME', '');

  it.each([
    ['Backup failed at Acme HQ', [acme], ['ACME']],
    ['backup failed at ACME', [acme], ['ACME']],
    ['Backup failed at Acmeville', [acme], []],
    ['Backup failed at 2Acme', [acme], []],
    ['Backup failed (Acme)', [acme], ['ACME']],
    ['Backup failed at Acme Europe', [acme, acmeEurope], ['ACME-EU']],
    ['Acme and Initech both down', [initech, acme], ['INITECH', 'ACME']],
    ['Backup failed', [unnamed], []],
  ])('"%s" names %j → %j', (subject, candidates, expected) => {
    expect(accountsNamedIn(subject, candidates).map((a) => a.id)).toEqual(expected);
  });
});

describe('which employee a sender is', () => {
  const support = { address: 'shared@msp.example', internalSupportAddress: 'helpdesk@msp.example' };

  it('takes the active record when an inactive one has the same address', () => {
    expect(pickEmployee([employee('OLD', false), employee('NEW', true)], support)?.id).toBe('NEW');
  });

  it('takes an inactive record when it is the only one', () => {
    expect(pickEmployee([employee('OLD', false)], support)).toMatchObject({ id: 'OLD', active: false });
  });

  it('finds no employee for an unknown sender', () => {
    expect(pickEmployee([], support)).toBeNull();
    expect(pickEmployee([], { ...support, address: null })).toBeNull();
  });

  it('treats internal support as an active employee although no record has its address', () => {
    const internal = { address: 'helpdesk@msp.example', internalSupportAddress: 'helpdesk@msp.example' };
    expect(pickEmployee([], internal)).toMatchObject({ id: 'internal-support', active: true });
    // A record with the address is who it is, as for anybody else.
    expect(pickEmployee([employee('HD', false)], internal)?.id).toBe('HD');
  });
});

describe('which outcome of a message stands', () => {
  it.each<[OutcomeAction | null, OutcomeAction, boolean]>([
    [null, 'ticket-created', true],
    [null, 'failed', true],
    ['failed', 'ticket-created', true],
    ['failed', 'forwarded', true],
    ['failed', 'failed', false],
    ['ticket-created', 'ticket-created', false],
    ['forwarded', 'filed', false],
    ['ignored', 'failed', false],
  ])('recorded %s, then %s: replaced %s', (recorded, next, replaced) => {
    expect(outcomeSupersedes(recorded === null ? null : { action: recorded }, { action: next })).toBe(
      replaced,
    );
  });
});

describe('ticket numbers', () => {
  it('follow both the highest ticket and the last reserved number', () => {
    expect(nextTicketSequence(0, 0)).toBe(1);
    expect(nextTicketSequence(42, 0)).toBe(43);
    expect(nextTicketSequence(42, 50)).toBe(51);
  });

  it('refuse to count past the largest number counted exactly', () => {
    expect(nextTicketSequence(Number.MAX_SAFE_INTEGER - 1, 0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => nextTicketSequence(Number.MAX_SAFE_INTEGER, 0)).toThrow(TicketNumbersExhausted);
    expect(() => nextTicketSequence(0, Number.MAX_SAFE_INTEGER)).toThrow(/renumber or remove that ticket/);
  });

  it('read a ticket number however it is padded, and nothing else', () => {
    expect(ticketSequenceOf('0000042')).toBe(42);
    expect(ticketSequenceOf(' 42 ')).toBe(42);
    expect(ticketSequenceOf('42a')).toBeNull();
    expect(ticketSequenceOf('')).toBeNull();
    expect(ticketSequenceOf('1234567890123456789')).toBeNull();
  });
});
