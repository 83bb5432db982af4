import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig } from '../../src/config/config.ts';
import { objectKeys, parameters, propertyObject, readText, statements } from './bicep-text.ts';
import { at, parseSimpleYaml } from './simple-yaml.ts';

const root = new URL('../../', import.meta.url);
const infra = new URL('infra/', root);
const bicepFiles = [
  'main.bicep',
  ...readdirSync(new URL('modules/', infra)).map((file) => `modules/${file}`),
].filter((file) => file.endsWith('.bicep'));
const bicep = new Map(bicepFiles.map((file) => [file, readText(new URL(file, infra))]));
const main = bicep.get('main.bicep')!;

const configNames = new Set(Object.keys(configSchema.shape));

/** Settings App Service or Azure SDKs read, which are not the connector's configuration. */
const platformSettings = [
  /^WEBSITES?_[A-Z0-9_]+$/,
  /^SCM_DO_BUILD_DURING_DEPLOYMENT$/,
  /^CUSTOM_BUILD_COMMAND$/,
  /^APPLICATIONINSIGHTS_CONNECTION_STRING$/,
  /^ApplicationInsightsAgent_EXTENSION_VERSION$/,
  /^AZURE_CLIENT_ID$/,
];

/** Variables whose default is wrong on App Service, whatever the schema says about them. */
const wrongDefaultsInProduction: Record<string, string> = {
  SUPPORT_MAILBOX: 'unset means the local mailbox folder instead of Exchange Online',
  DATABASE_URL: 'the default is a path inside the deployed files, which the next deployment replaces',
  GRAPH_AUTH: 'the credential must be chosen on purpose, not by default',
  GRAPH_MANAGED_IDENTITY_CLIENT_ID:
    'empty means a system-assigned identity, which the template does not create',
};

/** App setting names infra/ sets: the keys of every `var …Settings` object in the Bicep files. */
function infraSettings(): Map<string, string> {
  const names = new Map<string, string>();
  for (const [file, text] of bicep) {
    for (const statement of statements(text)) {
      if (statement.keyword !== 'var' || !/Settings$/.test(statement.name)) continue;
      for (const key of objectKeys(statement.code)) names.set(key, file);
    }
  }
  return names;
}

/** The value expression of one app setting, strings kept (e.g. `'@Microsoft.KeyVault(SecretUri=…)'`). */
function settingSource(name: string): string {
  for (const text of bicep.values()) {
    for (const statement of statements(text)) {
      const match = new RegExp(`\\n\\s*${name}:\\s*(.+)`).exec(statement.source);
      if (statement.keyword === 'var' && match) return match[1]!;
    }
  }
  return '';
}

/** Names in the "Set by hand" table of docs/deploy-azure.md. */
function setByHand(): Set<string> {
  const doc = readText(new URL('docs/deploy-azure.md', root));
  const start = doc.search(/^#+ .*set by hand/im);
  expect(start, 'docs/deploy-azure.md has a "Set by hand" section').toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start);
  const body = rest.indexOf('\n') + 1;
  const next = rest.slice(body).search(/^#+ /m);
  const section = next < 0 ? rest : rest.slice(0, body + next);
  return new Set([...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((match) => match[1]!));
}

/** What loadConfig names as required once SUPPORT_MAILBOX is set (the production mailbox). */
function requiredWithGraph(): string[] {
  try {
    loadConfig({ SUPPORT_MAILBOX: 'support@msp.example' });
    return [];
  } catch (error) {
    return [
      ...(error as Error).message.matchAll(/^\s+([A-Z][A-Z0-9_]*): required when SUPPORT_MAILBOX/gm),
    ].map((match) => match[1]!);
  }
}

function parameterFile(name: string): Record<string, { value: unknown }> {
  return (JSON.parse(readText(new URL(name, infra))) as { parameters: Record<string, { value: unknown }> })
    .parameters;
}

describe('azd project (azure.yaml)', () => {
  const project = parseSimpleYaml(readText(new URL('azure.yaml', root)));

  it('provisions infra/main.bicep and deploys the service "connector" from the repository root to App Service', () => {
    expect(at(project, 'infra')).toMatchObject({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(existsSync(new URL('main.bicep', infra))).toBe(true);
    expect(at(project, 'services.connector')).toMatchObject({
      project: '.',
      language: 'js',
      host: 'appservice',
    });
  });

  it('builds dist/ before packaging, on POSIX shells and on PowerShell', () => {
    for (const shell of ['posix', 'windows']) {
      const run = at(project, `services.connector.hooks.prepackage.${shell}.run`);
      expect(run, shell).toMatch(/npm ci && npm run build/);
    }
  });

  it('runs the database-user script after provisioning, and the script exists for both shells', () => {
    for (const [shell, script] of [
      ['posix', './infra/scripts/create-sql-user.sh'],
      ['windows', './infra/scripts/create-sql-user.ps1'],
    ] as const) {
      expect(at(project, `hooks.postprovision.${shell}.run`), shell).toBe(script);
      expect(existsSync(new URL(script, root)), script).toBe(true);
    }
  });

  it('uploads the built service and its npm manifests only, never sources, local data or a .env', () => {
    const folder = mkdtempSync(join(tmpdir(), 'webappignore-'));
    try {
      copyFileSync(new URL('.webappignore', root), join(folder, '.webappignore'));
      spawnSync('git', ['init', '-q'], { cwd: folder });
      const paths = ['dist/main.js', 'dist/cli/output.js', 'package.json', 'package-lock.json', '.env'];
      paths.push(
        'data/crm.sqlite',
        'node_modules/zod/index.js',
        'src/main.ts',
        '.azure/prod/.env',
        'test/x.ts',
      );
      const check = spawnSync(
        'git',
        [
          '-c',
          'core.excludesFile=.webappignore',
          'check-ignore',
          '--no-index',
          '--verbose',
          '--non-matching',
          ...paths,
        ],
        { cwd: folder, encoding: 'utf8' },
      );
      const ignored = new Map(
        check.stdout
          .trim()
          .split('\n')
          .map((line) => {
            const [source, path] = line.split('\t');
            return [path!, source !== '::' && !/:!/.test(source!)] as const;
          }),
      );
      expect(Object.fromEntries(ignored)).toEqual({
        'dist/main.js': false,
        'dist/cli/output.js': false,
        'package.json': false,
        'package-lock.json': false,
        '.env': true,
        'data/crm.sqlite': true,
        'node_modules/zod/index.js': true,
        'src/main.ts': true,
        '.azure/prod/.env': true,
        'test/x.ts': true,
      });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('app settings of infra/ against the configuration schema', () => {
  const settings = infraSettings();
  const byHand = setByHand();

  it('sets every variable production needs, or lists it under "Set by hand" in docs/deploy-azure.md', () => {
    const defaults = loadConfig({});
    const exampleAddresses = Object.entries(defaults)
      .filter(([, value]) => typeof value === 'string' && /@[^\s@]+\.example$/.test(value))
      .map(([name]) => name);
    const needed = new Set([
      ...requiredWithGraph(),
      ...exampleAddresses,
      ...Object.keys(wrongDefaultsInProduction),
    ]);
    expect([...needed]).toEqual(
      expect.arrayContaining(['PUBLIC_BASE_URL', 'GRAPH_CLIENT_STATE', 'SUPPORT_ADDRESS']),
    );
    for (const name of needed) {
      expect(configNames.has(name), `${name} is a configuration variable`).toBe(true);
      expect(
        settings.has(name) || byHand.has(name),
        `${name} is set by infra/ or listed as set by hand`,
      ).toBe(true);
    }
  });

  it('gives the Graph credential and Azure SDKs the user-assigned identity, and resolves secrets with it', () => {
    expect(settingSource('GRAPH_AUTH')).toBe("'managed-identity'");
    expect(settingSource('GRAPH_MANAGED_IDENTITY_CLIENT_ID')).toMatch(/identity\.outputs\.clientId/);
    expect(settingSource('AZURE_CLIENT_ID')).toMatch(/identity\.outputs\.clientId/);
    const appService = bicep.get('modules/appservice.bicep')!;
    expect(appService).toMatch(/type: 'UserAssigned'/);
    expect(appService).toMatch(/keyVaultReferenceIdentity: identityId/);
  });

  it('passes the secrets as Key Vault references, never as values', () => {
    for (const name of ['GRAPH_CLIENT_STATE', 'XML_API_PASSWORD']) {
      expect(settingSource(name), name).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}\)'$/);
    }
  });

  it('sets only configuration variables and known platform settings, so a misspelt name fails', () => {
    const fromParameterFiles = ['main.parameters.json', 'main.parameters.example.json'].flatMap((file) =>
      Object.keys((parameterFile(file).additionalAppSettings?.value as Record<string, string>) ?? {}),
    );
    const names = [...settings.keys(), ...fromParameterFiles];
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const known = configNames.has(name) || platformSettings.some((pattern) => pattern.test(name));
      expect(known, `${name} (${settings.get(name) ?? 'a parameters file'})`).toBe(true);
    }
  });

  it('lists under "Set by hand" only configuration variables that infra/ does not set', () => {
    expect(byHand.size).toBeGreaterThan(0);
    for (const name of byHand) {
      expect(configNames.has(name), `${name} is a configuration variable`).toBe(true);
      expect(settings.has(name), `${name} is set by infra/ already`).toBe(false);
    }
  });

  it('gives SQLite a DATABASE_URL on persistent storage that the configuration accepts', () => {
    const sqliteUrl = /'(sqlite:[^']+)'/.exec(settingSource('DATABASE_URL'))?.[1];
    expect(sqliteUrl).toBe('sqlite:/home/data/crm.sqlite');
    expect(configSchema.shape.DATABASE_URL.safeParse(sqliteUrl).success).toBe(true);
  });
});

describe('Bicep templates', () => {
  it('describes every parameter', () => {
    for (const [file, text] of bicep) {
      for (const parameter of parameters(text)) {
        expect(parameter.described, `${file}: ${parameter.name}`).toBe(true);
      }
    }
  });

  it('passes every module only parameters it declares, and all it requires', () => {
    for (const [file, text] of bicep) {
      for (const statement of statements(text).filter((s) => s.keyword === 'module')) {
        const path = /^module\s+\S+\s+'([^']+)'/.exec(statement.source)?.[1] ?? '';
        const target = bicep.get(join(file, '..', path).replace(/^\.\//, ''));
        expect(target, `${file}: module ${statement.name} → ${path}`).toBeDefined();
        const declared = parameters(target!);
        const passed = objectKeys(propertyObject(statement.code, 'params'));
        for (const name of passed) {
          expect(
            declared.some((parameter) => parameter.name === name),
            `${statement.name}: ${name} is declared in ${path}`,
          ).toBe(true);
        }
        for (const parameter of declared.filter((p) => !p.hasDefault)) {
          expect(passed, `${statement.name}: required ${parameter.name}`).toContain(parameter.name);
        }
      }
    }
  });

  it('fills every required parameter of main.bicep from the azd environment, and names no unknown one', () => {
    const declared = parameters(main);
    for (const file of ['main.parameters.json', 'main.parameters.example.json']) {
      const given = Object.keys(parameterFile(file));
      for (const name of given) {
        expect(
          declared.some((parameter) => parameter.name === name),
          `${file}: ${name}`,
        ).toBe(true);
      }
      for (const parameter of declared.filter((p) => !p.hasDefault)) {
        expect(given, `${file}: required ${parameter.name}`).toContain(parameter.name);
      }
    }
    const azd = parameterFile('main.parameters.json');
    expect(azd.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(azd.location?.value).toBe('${AZURE_LOCATION}');
    expect(azd.supportAddress?.value).toBe('${SUPPORT_ADDRESS}');
    expect(azd.internalSupportAddress?.value).toBe('${INTERNAL_SUPPORT_ADDRESS}');
  });

  it('outputs what azd and the deployment steps use, and no secret', () => {
    const outputs = statements(main).filter((s) => s.keyword === 'output');
    const names = outputs.map((output) => output.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'AZURE_LOCATION',
        'AZURE_KEY_VAULT_NAME',
        'SERVICE_CONNECTOR_NAME',
        'SERVICE_CONNECTOR_URI',
        'CONNECTOR_IDENTITY_PRINCIPAL_ID',
        'CONNECTOR_IDENTITY_CLIENT_ID',
        'CONNECTOR_IDENTITY_NAME',
        'AZURE_SQL_SERVER_FQDN',
        'AZURE_SQL_DATABASE_NAME',
      ]),
    );
    for (const output of outputs) {
      expect(output.code, output.name).not.toMatch(/graphClientState|xmlApiPassword|generatedClientState/);
    }
  });

  it('tags the web app for azd and runs it on Node 22 with Always On, HTTPS only and the health check', () => {
    const appService = bicep.get('modules/appservice.bicep')!;
    for (const setting of [
      /'azd-service-name': 'connector'/,
      /linuxFxVersion: 'NODE\|22-lts'/,
      /alwaysOn: true/,
      /httpsOnly: true/,
      /minTlsVersion: '1\.2'/,
      /ftpsState: 'Disabled'/,
      /healthCheckPath: '\/healthz'/,
    ]) {
      expect(appService).toMatch(setting);
    }
  });
});
