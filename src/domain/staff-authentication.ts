import { domainOf } from './addresses.ts';

/** What proves that mail claiming to come from staff is genuine (STAFF_TRUST). */
export type StaffTrust = 'exchange' | 'none';

/** Whether a staff sender is believed, and on what evidence (recorded in the outcome's reason). */
export interface StaffAuthentication {
  genuine: boolean;
  evidence: string;
}

/** Exchange's own stamp for mail submitted by a signed-in user or connector of the tenant. */
const authAsHeader = 'x-ms-exchange-organization-authas';

/** The `method=result` pairs and `header.from` of one Authentication-Results header, lower-case. */
function readAuthenticationResults(value: string): {
  results: Map<string, string>;
  headerFrom: string | null;
} {
  const results = new Map<string, string>();
  for (const match of value.toLowerCase().matchAll(/(?:^|[\s;])(spf|dkim|dmarc|compauth)\s*=\s*([a-z]+)/g)) {
    if (!results.has(match[1]!)) results.set(match[1]!, match[2]!);
  }
  const headerFrom = /header\.from\s*=\s*"?([a-z0-9.-]+)/i.exec(value)?.[1]?.toLowerCase() ?? null;
  return { results, headerFrom };
}

/**
 * Decides whether mail whose From is an employee or internal support really comes from them
 * (docs/staff-authentication.md). With `exchange`, only what Exchange Online stamps is evidence:
 * - `X-MS-Exchange-Organization-AuthAs: Internal`: sent from inside the tenant. Exchange removes every
 *   `X-MS-Exchange-Organization-*` header from mail arriving from outside, so a stranger cannot bring one.
 * - otherwise the top `Authentication-Results` (the one Exchange added on receipt; a sender's own copies sit below
 *   it), trusted only on mail that Exchange stamped as received (an `AuthAs` header is present): DMARC or
 *   composite authentication passed for the From domain.
 * Headers are lower-case names, first (topmost) value.
 */
export function authenticateStaffSender(
  headers: Readonly<Record<string, string>>,
  fromAddress: string,
  trust: StaffTrust,
): StaffAuthentication {
  if (trust === 'none') return { genuine: true, evidence: 'not checked (STAFF_TRUST=none)' };
  const authAs = headers[authAsHeader]?.trim().toLowerCase();
  if (authAs === undefined) {
    return { genuine: false, evidence: 'no Exchange Online stamps (the mail did not come through Exchange)' };
  }
  if (authAs === 'internal') {
    return {
      genuine: true,
      evidence: 'sent from inside the tenant (X-MS-Exchange-Organization-AuthAs: Internal)',
    };
  }
  const top = headers['authentication-results'];
  if (!top) return { genuine: false, evidence: `AuthAs ${authAs} and no Authentication-Results` };
  const { results, headerFrom } = readAuthenticationResults(top);
  const fromDomain = domainOf(fromAddress);
  const summary = [...results].map(([method, result]) => `${method}=${result}`).join(' ') || 'no results';
  if (headerFrom !== fromDomain) {
    return {
      genuine: false,
      evidence: `Authentication-Results are for ${headerFrom ?? 'no domain'} (${summary})`,
    };
  }
  if (results.get('dmarc') === 'pass' || results.get('compauth') === 'pass') {
    return { genuine: true, evidence: `Exchange Online authenticated ${fromDomain} (${summary})` };
  }
  return { genuine: false, evidence: `Exchange Online did not authenticate ${fromDomain} (${summary})` };
}
