import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where a missing path would be created: the nearest ancestor that exists, and whether it is a writable folder. */
export function creatableUnder(path: string): { folder: string; ok: boolean } {
  let current = resolve(path);
  for (;;) {
    const stats = statOrNull(current);
    if (stats) return { folder: current, ok: stats.isDirectory() && isWritable(current) };
    const parent = dirname(current);
    if (parent === current) return { folder: current, ok: false };
    current = parent;
  }
}

export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
