// One temporary directory for the whole run, removed at its end: every test (and every process a test starts)
// makes its scratch directories under it through `os.tmpdir()`, so a run leaves nothing behind in the system's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'email-connector-test-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
