// Plain JavaScript on purpose: it runs before any TypeScript, on whatever Node the operator has, and must be
// readable by an older Node that cannot even parse the sources it protects.
import console from 'node:console';
import process from 'node:process';

/** The oldest Node.js release line that runs TypeScript sources without flags (type stripping). */
export const requiredNode = '22.18';

/**
 * Why this Node cannot run the service from its sources, or null when it can. `typescript` is
 * `process.features.typescript`: false when type stripping was switched off (e.g. in NODE_OPTIONS).
 */
export function nodeVersionProblem(version, typescript) {
  const [major, minor] = String(version).replace(/^v/, '').split('.').map(Number);
  // 22.18 and 23.6 were the first releases of their lines to strip types by default.
  const supported = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  if (!supported) {
    return (
      `Node.js ${requiredNode} or later is needed to run the service from its TypeScript sources, ` +
      `and this is Node.js ${version}; install Node.js 22 LTS (${requiredNode} or later) and try again`
    );
  }
  if (typescript === false) {
    return (
      `Node.js ${version} has type stripping switched off; remove --no-experimental-strip-types ` +
      'from NODE_OPTIONS (or the command line) and try again'
    );
  }
  return null;
}

/** Exits with one line on stderr when this Node cannot run the sources. */
export function requireSupportedNode() {
  const problem = nodeVersionProblem(process.versions.node, process.features.typescript);
  if (problem) {
    console.error(`email-connector: ${problem}`);
    process.exit(1);
  }
}
