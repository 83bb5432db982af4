import type { GraphOverrides } from '../composition-root.ts';
import { secretVariables } from '../config/config.ts';
import { formatCheck } from '../doctor/check.ts';
import { runDoctor } from '../doctor/run-doctor.ts';
import { CliError, type Output } from './output.ts';

export interface DoctorInput {
  env: Record<string, string | undefined>;
  output: Output;
  graph?: GraphOverrides;
  /** A mailbox the app must not be able to read (checks the RBAC scope); null to skip that check. */
  otherMailbox: string | null;
}

/** `doctor`: checks configuration, database, Graph access, webhook and subscription; returns the exit code. */
export async function doctorCommand(input: DoctorInput): Promise<number> {
  const other = input.otherMailbox === null ? null : input.otherMailbox.trim();
  if (other === '') throw new CliError('usage: email-connector doctor [--other-mailbox ADDRESS]', 2);
  if (other && other.toLowerCase() === input.env.SUPPORT_MAILBOX?.trim().toLowerCase()) {
    throw new CliError('doctor: --other-mailbox must name a mailbox other than SUPPORT_MAILBOX', 2);
  }
  // A safety net: no check prints a secret, but an error text from elsewhere might quote one.
  const secrets = secretVariables
    .map((name) => input.env[name]?.trim() ?? '')
    .filter((value) => value.length >= 4 && !value.startsWith('sqlite:'));
  let failed = false;
  await runDoctor({
    env: input.env,
    graph: input.graph ?? {},
    otherMailbox: other,
    report: (result) => {
      if (result.status === 'fail') failed = true;
      let line = formatCheck(result);
      for (const secret of secrets) line = line.replaceAll(secret, '[redacted]');
      input.output.out(line);
    },
  });
  return failed ? 1 : 0;
}
