import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One broken rule, named by the file (relative to the checked root, with `/`) that breaks it. */
export interface ImportViolation {
  rule: 'domain-imports-only-domain' | 'only-the-composition-root-imports-adapters' | 'no-import-cycles';
  file: string;
  message: string;
}

/** The adapter folders: only the composition root, and files of the same folder, may import from them. */
export const adapterFolders: readonly string[] = [
  'crm/sqlite',
  'crm/sqlserver',
  'mailbox/local',
  'mailbox/graph',
];

const compositionRoot = 'composition-root.ts';

function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
    }
  };
  walk(root);
  return files;
}

/** Every module a file names: static imports (type-only ones too), `export … from`, `import()` and `require`. */
function specifiers(path: string): string[] {
  const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
  return info.importedFiles.map((file) => file.fileName);
}

/** The file a relative specifier names; null for a package or a Node built-in. */
function resolveRelative(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = resolve(dirname(from), specifier);
  for (const candidate of [target, `${target}.ts`, join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  // A file that does not exist (yet) still says where the import points.
  return target;
}

const toSlashes = (path: string): string => path.split(sep).join('/');

const adapterOf = (file: string): string | null =>
  adapterFolders.find((folder) => file.startsWith(`${folder}/`)) ?? null;

/** Strongly connected components of more than one file (or a file importing itself), each as a cycle path. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/**
 * Reads the imports of every TypeScript file under `root` (the `src/` folder) and reports:
 * a file in `domain/` importing anything outside `domain/` (a package or a Node built-in included); a file other
 * than the composition root importing an adapter folder it is not part of; and import cycles between files.
 */
export function checkImportRules(root: string): ImportViolation[] {
  const violations: ImportViolation[] = [];
  const graph = new Map<string, string[]>();
  for (const path of sourceFiles(root)) {
    const file = toSlashes(relative(root, path));
    const edges: string[] = [];
    graph.set(file, edges);
    for (const specifier of specifiers(path)) {
      const resolved = resolveRelative(path, specifier);
      const target = resolved === null ? null : toSlashes(relative(root, resolved));
      if (target !== null) edges.push(target);

      if (file.startsWith('domain/') && (target === null || !target.startsWith('domain/'))) {
        violations.push({
          rule: 'domain-imports-only-domain',
          file,
          message: `imports "${specifier}": domain/ is pure rules and imports nothing outside domain/`,
        });
      }
      const adapter = target === null ? null : adapterOf(target);
      if (adapter && file !== compositionRoot && adapterOf(file) !== adapter) {
        violations.push({
          rule: 'only-the-composition-root-imports-adapters',
          file,
          message: `imports "${specifier}" from the adapter ${adapter}/: go through a port, or through ${compositionRoot}`,
        });
      }
    }
  }
  for (const cycle of cycles(graph)) {
    violations.push({
      rule: 'no-import-cycles',
      file: cycle[0]!,
      message: `import cycle between ${cycle.join(', ')}`,
    });
  }
  return violations;
}

/** One line per violation, for a failing test's message. */
export function describeViolations(violations: readonly ImportViolation[]): string {
  return violations.map((violation) => `${violation.file}: ${violation.message}`).join('\n');
}
