import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../bin/node-version.mjs';
import { childEnv, mainPath, repoRoot, runNode, type RunResult } from '../helpers/run-node.ts';

const startScript = join(repoRoot, 'bin', 'start.mjs');
const cliScript = join(repoRoot, 'bin', 'email-connector.mjs');

/**
 * Root writes anywhere, so a read-only folder only stops a child that runs without the capabilities that
 * bypass file permissions. Elsewhere the child is an ordinary user already.
 */
const asRoot = process.getuid?.() === 0;
const setpriv = asRoot ? findOnPath('setpriv') : null;
const canDenyWrites = !asRoot || setpriv !== null;

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Runs the service like `node src/main.ts`, without the power to ignore file permissions. */
function runService(env: Record<string, string>, cwd: string): Promise<RunResult> {
  const [command, args] = setpriv
    ? [setpriv, ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, mainPath]]
    : [process.execPath, [mainPath]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv({ PORT: '0', ...env }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One line on stderr, naming the problem; no stack trace anywhere. */
function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /);
}

/** A folder the service may read but not write. */
function readOnlyFolder(dir: string, name: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  chmodSync(folder, 0o555);
  return folder;
}

describe('start-up mistakes end in one line naming the variable and the fix', () => {
  it.skipIf(!canDenyWrites)('DATABASE_URL in a folder the service may not write to', async () => {
    const dir = tempDir('db-readonly-');
    const folder = readOnlyFolder(dir, 'locked');
    const result = await runService({ DATABASE_URL: `sqlite:${join(folder, 'crm.sqlite')}` }, dir);
    expectOneLine(
      result,
      /^email-connector: DATABASE_URL: cannot open .*locked\/crm\.sqlite for reading and writing; give the service read and write access/,
    );
  });

  it.skipIf(!canDenyWrites)('DATABASE_URL in a folder that cannot be created', async () => {
    const dir = tempDir('db-nofolder-');
    const folder = readOnlyFolder(dir, 'locked');
    const result = await runService({ DATABASE_URL: `sqlite:${join(folder, 'data', 'crm.sqlite')}` }, dir);
    expectOneLine(
      result,
      /^email-connector: DATABASE_URL: cannot create the folder .*locked\/data \(permission denied\); give the service write access/,
    );
  });

  it('DATABASE_URL naming a file that is not a SQLite database', async () => {
    const dir = tempDir('db-notdb-');
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'Shopping list: milk, printer toner.\n'.repeat(200));
    const result = await runService({ DATABASE_URL: `sqlite:${file}` }, dir);
    expectOneLine(result, /^email-connector: DATABASE_URL: .*notes\.txt is not a SQLite database; point to/);
  });

  it.skipIf(!canDenyWrites)('MAILBOX_DIR whose folders exist but may not be written to', async () => {
    const dir = tempDir('mailbox-readonly-');
    const mailbox = join(dir, 'mailbox');
    for (const folder of ['inbox', 'processed', 'failed', 'sent']) readOnlyFolder(mailbox, folder);
    const result = await runService(
      { DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`, MAILBOX_DIR: mailbox },
      dir,
    );
    expectOneLine(
      result,
      /^email-connector: MAILBOX_DIR: cannot write to .*mailbox\/inbox \(permission denied\); give the service write access/,
    );
  });

  it.skipIf(!canDenyWrites)('MAILBOX_DIR inside a folder the service may not write to', async () => {
    const dir = tempDir('mailbox-nofolder-');
    const folder = readOnlyFolder(dir, 'locked');
    const result = await runService(
      { DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`, MAILBOX_DIR: join(folder, 'mailbox') },
      dir,
    );
    expectOneLine(
      result,
      /^email-connector: MAILBOX_DIR: cannot create .*locked\/mailbox \(permission denied\); give the service write access to .*locked, or choose another folder$/,
    );
  });

  it('MAILBOX_DIR naming a file', async () => {
    const dir = tempDir('mailbox-file-');
    writeFileSync(join(dir, 'mailbox'), 'not a folder\n');
    const result = await runService(
      { DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`, MAILBOX_DIR: join(dir, 'mailbox') },
      dir,
    );
    expectOneLine(
      result,
      /^email-connector: MAILBOX_DIR: \S+\/mailbox is not a folder: a file is in the way; move it away/,
    );
  });

  it('PORT already in use by another process', async () => {
    const taken = createServer();
    // On every interface, as the service listens.
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      const dir = tempDir('port-taken-');
      const result = await runService({ PORT: String(port) }, dir);
      expectOneLine(
        result,
        new RegExp(
          `^email-connector: PORT: port ${port} is already in use by another process; stop that process, or set PORT to a free port$`,
        ),
      );
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

/** A Node on this machine too old to run the sources, if there is one (the system's Node often is). */
function olderNode(): { path: string; version: string } | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const path = join(dir, 'node');
    if (!dir || !existsSync(path)) continue;
    const answer = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const version = answer.stdout?.trim();
    if (answer.status === 0 && version && nodeVersionProblem(version, undefined)) return { path, version };
  }
  return null;
}

describe('the Node.js version', () => {
  it.each([
    ['20.20.2', undefined, false],
    ['22.12.0', undefined, false],
    ['22.17.1', false, false],
    ['22.18.0', 'strip', true],
    ['23.5.0', undefined, false],
    ['23.6.0', 'strip', true],
    ['24.1.0', 'strip', true],
    ['25.0.0', 'strip', true],
  ])('Node %s (type stripping: %s) can run the sources: %s', (version, typescript, runs) => {
    expect(nodeVersionProblem(version, typescript) === null).toBe(runs);
  });

  it('names the switch when type stripping is turned off', () => {
    expect(nodeVersionProblem('22.20.0', false)).toMatch(
      /type stripping switched off; remove --no-experimental-strip-types/,
    );
  });

  it('npm start and npm run email-connector check the version before loading any TypeScript', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
    };
    expect(pkg.scripts.start).toBe('node bin/start.mjs');
    expect(pkg.scripts['email-connector']).toBe('node bin/email-connector.mjs');
    expect(pkg.engines.node).toBe('>=22.18');
  });

  const older = olderNode();
  it.skipIf(!older)(
    `an older Node (${older?.version ?? 'none found'}) gets one line saying what to install`,
    async () => {
      for (const script of [startScript, cliScript]) {
        const result = spawnSync(older!.path, [script, '--help'], {
          cwd: tempDir('old-node-'),
          env: childEnv({}),
          encoding: 'utf8',
        });
        expect(result.status, result.stderr).toBe(1);
        expect(result.stderr.trimEnd().split('\n')).toEqual([
          `email-connector: Node.js 22.18 or later is needed to run the service from its TypeScript sources, and this is Node.js ${older!.version}; install Node.js 22 LTS (22.18 or later) and try again`,
        ]);
      }
    },
  );

  it('this Node passes the check and runs the service and the command line', async () => {
    const dir = tempDir('this-node-');
    const service = await runNode(startScript, [], { cwd: dir, env: { PORT: 'abc' } });
    expect(service.code).toBe(2);
    expect(service.stderr).toMatch(/PORT: must be a whole number/);
    const cli = await runNode(cliScript, ['--help'], { cwd: dir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^usage: email-connector <command>/);
  });
});
