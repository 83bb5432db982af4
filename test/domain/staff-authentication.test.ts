import { describe, expect, it } from 'vitest';
import { authenticateStaffSender } from '../../src/domain/staff-authentication.ts';

const from = 'tom@msp.example';
const stamped = (results: string) => ({
  'x-ms-exchange-organization-authas': 'Anonymous',
  'authentication-results': results,
});

describe('staff authentication from Exchange Online stamps', () => {
  const rows: { behaviour: string; headers: Record<string, string>; genuine: boolean }[] = [
    {
      behaviour: 'mail submitted inside the tenant is genuine',
      headers: { 'x-ms-exchange-organization-authas': 'Internal' },
      genuine: true,
    },
    {
      behaviour: 'DMARC pass for the From domain is genuine',
      headers: stamped('spf=pass smtp.mailfrom=msp.example; dmarc=pass action=none header.from=msp.example'),
      genuine: true,
    },
    {
      behaviour: 'composite authentication pass for the From domain is genuine',
      headers: stamped('spf=none; dmarc=none action=none header.from=msp.example;compauth=pass reason=109'),
      genuine: true,
    },
    {
      behaviour: 'DMARC pass for another domain proves nothing about the From address',
      headers: stamped('dmarc=pass action=none header.from=attacker.example;compauth=pass'),
      genuine: false,
    },
    {
      behaviour: 'DMARC fail is not genuine',
      headers: stamped('dmarc=fail action=quarantine header.from=msp.example;compauth=fail reason=000'),
      genuine: false,
    },
    {
      behaviour: 'a passing Authentication-Results without Exchange’s stamp is the sender’s own word',
      headers: { 'authentication-results': 'dmarc=pass header.from=msp.example' },
      genuine: false,
    },
    {
      behaviour: 'an Exchange stamp without Authentication-Results is not genuine unless Internal',
      headers: { 'x-ms-exchange-organization-authas': 'Anonymous' },
      genuine: false,
    },
    { behaviour: 'no stamps at all is not genuine', headers: {}, genuine: false },
  ];
  for (const row of rows) {
    it(row.behaviour, () => {
      const result = authenticateStaffSender(row.headers, from, 'exchange');
      expect(result.genuine).toBe(row.genuine);
      expect(result.evidence).not.toBe('');
    });
  }

  it('believes every sender with STAFF_TRUST=none', () => {
    expect(authenticateStaffSender({}, from, 'none').genuine).toBe(true);
  });
});
