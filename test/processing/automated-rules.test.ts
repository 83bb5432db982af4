import { afterEach, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/config/rules-file.ts';
import { ConfigError } from '../../src/config/config.ts';
import { processMessage } from '../../src/processing/process-message.ts';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('automated-email rules (test/fixtures/rules.json)', () => {
  it.each([
    ['a foreign-system id', 'monitoring-alert-foreign-id.eml', 'RMM alerts', 'GLOBEX', 'foreign id'],
    [
      'a custom field holding a foreign id',
      'backup-report-by-custom-field.eml',
      'Backup reports',
      'C-20417',
      'custom field "Backup vault"',
    ],
    ['the account name', 'backup-report-by-name.eml', 'Backup reports', 'INITECH', 'account name'],
    ['the account record id', 'uptime-alert-record-id.eml', 'Uptime monitor', 'C-20417', 'record id'],
  ])(
    'opens a ticket for the account found by %s, without answering the monitor',
    async (_by, fixture, rule, accountId, lookedUp) => {
      engine = await openEngine({ AUTO_ACK: 'true' });

      const { outcome } = await engine.process(fixture);

      expect(outcome).toMatchObject({ action: 'ticket-created', code: 'rule-account', accountId, sent: [] });
      expect(outcome.reason).toContain(`rule "${rule}"`);
      expect(outcome.reason).toContain(lookedUp);
      const ticket = await engine.ticket(outcome.ticketNumber!);
      expect(ticket.accountId).toBe(accountId);
      expect(await engine.store.listDocuments(ticket.id)).toHaveLength(1);
      expect(await engine.sent()).toEqual([]);
    },
  );

  it('forwards an alert matching a skip phrase untouched, with no ticket', async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('monitoring-self-healed.eml');

    expect(outcome).toMatchObject({ action: 'forwarded', code: 'rule-skip', forwardedTo: [internalSupport] });
    expect(outcome.reason).toContain('Alert Self Healed');
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.original?.equals(readFixture('monitoring-self-healed.eml'))).toBe(true);
  });

  it('forwards an alert whose account the rule cannot find, with the reason', async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('monitoring-alert-unknown-site.eml');

    expect(outcome).toMatchObject({
      action: 'forwarded',
      code: 'rule-account-not-found',
      forwardedTo: [internalSupport],
    });
    expect(outcome.reason).toContain('RMM-9999');
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
    const [forward] = await engine.sent();
    expect(forward?.text).toContain('no account found');
  });

  it('treats the same alert as machine mail when no rule names it', async () => {
    engine = await openEngine({ RULES_FILE: '' });

    const { outcome } = await engine.process('monitoring-alert-foreign-id.eml');

    expect(outcome).toMatchObject({ action: 'ignored', code: 'machine-mail' });
  });

  it('applies rules given through parseRules in their configured order, first match wins', async () => {
    engine = await openEngine({ RULES_FILE: '' });
    const rules = parseRules({
      rules: [
        { name: 'Backups by sender', from: '@backupvault.example', accountLookups: [{ by: 'sender' }] },
        { name: 'Backups by name', subjectContains: 'Backup report', accountLookups: [{ by: 'name' }] },
      ],
    });
    const deps = { ...engine.deps, settings: { ...engine.deps.settings, rules } };

    const { outcome } = await processMessage(
      readFixture('backup-report-by-name.eml'),
      { label: 'backup-report-by-name.eml', intakeId: null },
      deps,
    );

    // The first rule detects it; its sender lookup finds no account, so the name rule never runs.
    expect(outcome).toMatchObject({ action: 'forwarded', code: 'rule-account-not-found' });
    expect(outcome.reason).toContain('rule "Backups by sender"');
    expect(outcome.reason).toContain('sender domain backupvault.example');
  });

  it('rejects a rule that names neither a sender nor a subject phrase', () => {
    expect(() => parseRules({ rules: [{ name: 'Catch all', accountLookups: [{ by: 'name' }] }] })).toThrow(
      ConfigError,
    );
  });
});
