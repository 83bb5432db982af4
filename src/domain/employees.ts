import type { Employee } from './crm.ts';

/**
 * The employee a sender is, from every employee record with the sender's address: an active record wins over an
 * inactive one (the address passed on to someone still employed). Internal support writing from its own address is
 * treated as an active employee even without a record, so that its mail with a ticket tag is filed and not forwarded
 * back to itself.
 */
export function pickEmployee(
  employees: readonly Employee[],
  sender: { address: string | null; internalSupportAddress: string },
): Employee | null {
  const chosen = employees.find((employee) => employee.active) ?? employees[0] ?? null;
  if (chosen || sender.address === null || sender.address !== sender.internalSupportAddress) return chosen;
  return {
    id: 'internal-support',
    name: 'internal support',
    email1: sender.address,
    email2: null,
    active: true,
  };
}
