import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';

const examplePath = new URL('../../.env.example', import.meta.url);

/** Each variable of .env.example with the value the file means: the text after `=`, without enclosing quotes. */
function meantValues(): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of readFileSync(examplePath, 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(?:"(.*)"|(.*))$/.exec(line);
    if (match) values.set(match[1]!, match[2] ?? match[3]!);
  }
  return values;
}

interface Sourced {
  values: Map<string, string>;
  stderr: string;
  status: number;
}

/** Sources a copy of .env.example as `.env` the way its header says, in a bash with an otherwise empty environment. */
function sourceInBash(folder: string): Sourced {
  copyFileSync(examplePath, join(folder, '.env'));
  const run = spawnSync('bash', ['--noprofile', '--norc', '-c', 'set -a; . ./.env; set +a; env -0'], {
    cwd: folder,
    env: { PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
  });
  const values = new Map<string, string>();
  for (const entry of run.stdout.split('\0').filter(Boolean)) {
    const at = entry.indexOf('=');
    values.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return { values, stderr: run.stderr, status: run.status ?? -1 };
}

describe('.env.example sourced by a shell', () => {
  let folder: string;
  let sourced: Sourced;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'env-example-'));
    sourced = sourceInBash(folder);
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('loads with `set -a; . ./.env; set +a` in bash without an error', () => {
    expect(sourced.stderr).toBe('');
    expect(sourced.status).toBe(0);
  });

  it('gives every variable the value the file means, quotes removed', () => {
    const meant = meantValues();
    expect(meant.size).toBeGreaterThan(0);
    for (const [name, value] of meant) expect(sourced.values.get(name), name).toBe(value);
  });

  it('yields exactly the embedded defaults when the connector reads that environment', () => {
    const environment = Object.fromEntries(
      [...meantValues().keys()].map((name) => [name, sourced.values.get(name)]),
    );
    expect(loadConfig(environment)).toEqual(loadConfig({}));
  });
});
