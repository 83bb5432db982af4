import { ConfigError, configSchema, loadConfig, type Config } from '../config/config.ts';
import { loadRulesFile } from '../config/rules-file.ts';
import { fail, ok, oneLine, skip, type Report } from './check.ts';

export const configurationCheck = 'configuration';
export const addressCheck = 'internal support address';
export const rulesFileCheck = 'rules file';

/** Check 1: the environment as the service would load it; null when it would refuse to start. */
export function checkConfiguration(
  env: Readonly<Record<string, string | undefined>>,
  report: Report,
): Config | null {
  try {
    const config = loadConfig(env);
    const mailbox = config.SUPPORT_MAILBOX
      ? `Microsoft Graph mailbox ${config.SUPPORT_MAILBOX}`
      : `local mailbox folder ${config.MAILBOX_DIR}`;
    report(ok(configurationCheck, `valid (${mailbox})`));
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // loadConfig's message names each variable and says what is wrong, never a secret's value.
    const problems = error.message.replace(/^invalid configuration:\s*/, '');
    const names = [...new Set([...problems.matchAll(/^\s*([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]))];
    const which = names.length > 0 ? names.join(', ') : 'the variables named';
    report(fail(configurationCheck, oneLine(problems), `correct ${which} (.env.example describes each)`));
    return null;
  }
}

type AddressVariable = 'SUPPORT_ADDRESS' | 'INTERNAL_SUPPORT_ADDRESS';

/**
 * Check 2: forwards to internal support must not land in the support mailbox again. Read from the environment when
 * the configuration as a whole is invalid, so that this problem is named even then.
 */
export function checkAddresses(
  env: Readonly<Record<string, string | undefined>>,
  config: Config | null,
  report: Report,
): void {
  const read = (name: AddressVariable): string | null => {
    if (config) return config[name];
    const value = env[name]?.trim() ? env[name] : undefined;
    // The schema's own field: the same normalisation and default as loadConfig.
    const parsed = configSchema.shape[name].safeParse(value);
    return parsed.success ? parsed.data : null;
  };
  const support = read('SUPPORT_ADDRESS');
  const internal = read('INTERNAL_SUPPORT_ADDRESS');
  if (!support || !internal) {
    report(
      skip(addressCheck, 'SUPPORT_ADDRESS or INTERNAL_SUPPORT_ADDRESS is not an address (see configuration)'),
    );
    return;
  }
  const mailboxList = (config ? config.SUPPORT_MAILBOX : env.SUPPORT_MAILBOX?.trim())?.toLowerCase() || null;
  const mailbox =
    mailboxList
      ?.split(',')
      .map((entry) => entry.trim())
      .find((entry) => entry === internal) ?? mailboxList;
  const fix = "set INTERNAL_SUPPORT_ADDRESS to the internal team's own mailbox";
  const loops = 'forwards to internal support would come back in as new mail';
  if (internal === support) {
    report(fail(addressCheck, `INTERNAL_SUPPORT_ADDRESS equals SUPPORT_ADDRESS (${support}): ${loops}`, fix));
  } else if (mailbox?.includes('@') && internal === mailbox) {
    report(fail(addressCheck, `INTERNAL_SUPPORT_ADDRESS equals SUPPORT_MAILBOX (${mailbox}): ${loops}`, fix));
  } else if (!env.INTERNAL_SUPPORT_ADDRESS?.trim() && mailbox) {
    report(
      fail(
        addressCheck,
        `INTERNAL_SUPPORT_ADDRESS is not set: forwards would go to the example address ${internal}`,
        fix,
      ),
    );
  } else if (!env.INTERNAL_SUPPORT_ADDRESS?.trim()) {
    report(
      ok(
        addressCheck,
        `${internal} (the default; set INTERNAL_SUPPORT_ADDRESS before using Microsoft Graph)`,
      ),
    );
  } else {
    report(ok(addressCheck, `${internal}, not the support address`));
  }
}

/** Check 3: the automated-email rules parse as the service would load them. */
export function checkRulesFile(config: Config, report: Report): void {
  const path = config.RULES_FILE;
  if (!path) {
    report(ok(rulesFileCheck, 'no rules file (RULES_FILE empty)'));
    return;
  }
  try {
    const rules = loadRulesFile(path);
    report(ok(rulesFileCheck, `${path}: ${rules.length} ${rules.length === 1 ? 'rule' : 'rules'}`));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(
      fail(
        rulesFileCheck,
        oneLine(error.message.replace(/^RULES_FILE:\s*/, '')),
        'correct the file (docs/automated-rules.md describes the format) or empty RULES_FILE',
      ),
    );
  }
}
