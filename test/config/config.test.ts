import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema, describeConfig, loadConfig } from '../../src/config/config.ts';
import { parseRules } from '../../src/config/rules-file.ts';

function envExample(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').split('\n')) {
    // A value in double quotes (one with spaces, so that a shell can source the file) means what is inside them.
    const match = /^([A-Z][A-Z0-9_]*)=(?:"(.*)"|(.*))$/.exec(line);
    if (match) entries.set(match[1]!, match[2] ?? match[3]!);
  }
  return entries;
}

describe('configuration', () => {
  it('runs on the embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'sqlite:data/crm.sqlite',
      MAILBOX_DIR: 'data/mailbox',
      PORT: 3000,
      SUPPORT_MAILBOX: null,
      AUTO_ACK: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every variable in .env.example with its default and a comment', () => {
    const example = envExample();
    const names = Object.keys(configSchema.shape);
    expect([...example.keys()].sort()).toEqual([...names].sort());
    const defaults = loadConfig({});
    const fromExample = loadConfig(Object.fromEntries(example));
    expect(fromExample).toEqual(defaults);
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    for (const name of names) expect(text, name).toMatch(new RegExp(`# [^\\n]+\\n${name}=`));
  });

  it('names every variable in the README’s configuration section', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(configSchema.shape).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it.each([
    ['PORT', 'abc', /PORT: must be a whole number/],
    ['PORT', '70000', /PORT: must be between 0 and 65535/],
    ['DATABASE_URL', 'foo:bar', /DATABASE_URL: must be sqlite:<path>/],
    ['SUPPORT_ADDRESS', 'not-an-address', /SUPPORT_ADDRESS: must be an email address/],
    ['AUTO_ACK', 'maybe', /AUTO_ACK: must be true or false/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['PUBLIC_BASE_URL', 'http://insecure.example', /PUBLIC_BASE_URL: must be an https:\/\/ address/],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('requires the Graph settings together once SUPPORT_MAILBOX is set', () => {
    expect(() => loadConfig({ SUPPORT_MAILBOX: 'support@msp.example' })).toThrow(
      /PUBLIC_BASE_URL: required[\s\S]*GRAPH_CLIENT_STATE: required/,
    );
    const graph = {
      SUPPORT_MAILBOX: 'support@msp.example',
      PUBLIC_BASE_URL: 'https://c.example',
      GRAPH_CLIENT_STATE: 's',
    };
    // A managed identity needs no tenant or client id; an app registration does, with its secret.
    expect(loadConfig(graph).GRAPH_AUTH).toBe('managed-identity');
    expect(() => loadConfig({ ...graph, GRAPH_AUTH: 'client-secret' })).toThrow(
      /GRAPH_TENANT_ID: required[\s\S]*GRAPH_CLIENT_ID: required[\s\S]*GRAPH_CLIENT_SECRET: required/,
    );
  });

  it('names a secret whose Key Vault reference App Service could not resolve', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/client-state/)';
    expect(() => loadConfig({ GRAPH_CLIENT_STATE: reference })).toThrow(
      /GRAPH_CLIENT_STATE: unresolved Key Vault reference/,
    );
  });

  it('refuses an internal support address equal to the support address (a forward loop)', () => {
    expect(() =>
      loadConfig({ SUPPORT_ADDRESS: 'support@msp.example', INTERNAL_SUPPORT_ADDRESS: 'SUPPORT@msp.example' }),
    ).toThrow(/INTERNAL_SUPPORT_ADDRESS/);
  });

  it('refuses to enable the XML API without a password, naming XML_API_PASSWORD and the opt-in', () => {
    expect(() => loadConfig({ XML_API_ENABLED: 'true' })).toThrow(
      /XML_API_PASSWORD: required when XML_API_ENABLED=true[\s\S]*XML_API_ALLOW_NO_PASSWORD=true/,
    );
    expect(() => loadConfig({ XML_API_ENABLED: 'true', XML_API_ALLOW_NO_PASSWORD: 'false' })).toThrow(
      /XML_API_PASSWORD/,
    );
  });

  it('enables the XML API with a password, or without one only by the explicit opt-in', () => {
    expect(loadConfig({ XML_API_ENABLED: 'true', XML_API_PASSWORD: 'hunter2' })).toMatchObject({
      XML_API_ENABLED: true,
      XML_API_PASSWORD: 'hunter2',
      XML_API_ALLOW_NO_PASSWORD: false,
    });
    expect(loadConfig({ XML_API_ENABLED: 'true', XML_API_ALLOW_NO_PASSWORD: 'true' })).toMatchObject({
      XML_API_ENABLED: true,
      XML_API_PASSWORD: null,
    });
    // Off, the API needs neither.
    expect(loadConfig({}).XML_API_ENABLED).toBe(false);
  });

  it('never shows secret values when described for logs or errors', () => {
    const config = loadConfig({ XML_API_PASSWORD: 'hunter2', GRAPH_CLIENT_STATE: 's3cr3t-state' });
    const shown = JSON.stringify(describeConfig(config));
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('s3cr3t-state');
    expect(shown).toContain('[redacted]');
    let message = '';
    try {
      loadConfig({ GRAPH_CLIENT_STATE: 'x'.repeat(200) });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/GRAPH_CLIENT_STATE/);
    expect(message).not.toContain('x'.repeat(20));
  });
});

describe('automated-email rules file', () => {
  it('names the rule and field of a bad entry', () => {
    expect(() => parseRules({ rules: [{ name: 'RMM' }] })).toThrow(
      /rules\.0.*needs "from", "subjectContains"/,
    );
    expect(() =>
      parseRules({
        rules: [{ name: 'RMM', from: 'a@b.example', accountLookups: [{ by: 'name', subjectPattern: '(' }] }],
      }),
    ).toThrow(/rules\.0\.accountLookups\.0\.subjectPattern: must be a valid regular expression/);
  });
});
