import { readFileSync } from 'node:fs';

/**
 * Just enough of Bicep's syntax to check the templates without a Bicep compiler (none is installable from npm or
 * Debian): top-level statements, parameters with their decorators, and the keys of object literals.
 */

export interface BicepStatement {
  keyword: string;
  name: string;
  /** Decorator lines above the statement (`@description(...)`, `@secure()`, ...). */
  decorators: string;
  /** The statement, comments removed and string contents blanked. */
  code: string;
  /** The statement, comments removed, strings kept. */
  source: string;
}

export interface BicepParameter {
  name: string;
  hasDefault: boolean;
  described: boolean;
}

const keywords = [
  'targetScope',
  'param',
  'var',
  'resource',
  'module',
  'output',
  'type',
  'func',
  'import',
  'metadata',
];

/** Removes comments; with `blankStrings`, also replaces every string's contents (interpolations included) by spaces. */
export function stripBicep(text: string, blankStrings: boolean): string {
  let out = '';
  let i = 0;
  const blank = (from: number, to: number) => text.slice(from, to).replace(/[^\n]/g, ' ');
  // Returns the index just after the string that starts at `start` (a quote).
  const skipString = (start: number): number => {
    if (text.startsWith("'''", start)) {
      const end = text.indexOf("'''", start + 3);
      return end < 0 ? text.length : end + 3;
    }
    let j = start + 1;
    while (j < text.length && text[j] !== "'") {
      if (text[j] === '\\') j += 2;
      else if (text.startsWith('${', j)) j = skipInterpolation(j + 2);
      else j += 1;
    }
    return j + 1;
  };
  const skipInterpolation = (start: number): number => {
    let depth = 1;
    let j = start;
    while (j < text.length && depth > 0) {
      if (text[j] === "'") j = skipString(j);
      else {
        if (text[j] === '{') depth += 1;
        if (text[j] === '}') depth -= 1;
        j += 1;
      }
    }
    return j;
  };
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      out += blank(i, end < 0 ? text.length : end + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (text[i] === "'") {
      const end = skipString(i);
      out += blankStrings ? `'${blank(i + 1, end - 1)}'` : text.slice(i, end);
      i = end;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** Top-level statements in order; each runs until the next line that starts a statement or a decorator. */
export function statements(text: string): BicepStatement[] {
  const code = stripBicep(text, true).split('\n');
  const source = stripBicep(text, false).split('\n');
  const found: BicepStatement[] = [];
  let decorators: string[] = [];
  let current: {
    keyword: string;
    name: string;
    decorators: string;
    code: string[];
    source: string[];
  } | null = null;
  let inDecorator = false;
  code.forEach((line, index) => {
    const keyword = keywords.find((word) => line.startsWith(`${word} `));
    if (keyword) {
      if (current) found.push(finish(current));
      const name = /^\S+\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(line)?.[1] ?? '';
      current = { keyword, name, decorators: decorators.join('\n'), code: [line], source: [source[index]!] };
      decorators = [];
      inDecorator = false;
    } else if (line.startsWith('@')) {
      if (current) found.push(finish(current));
      current = null;
      decorators.push(source[index]!);
      inDecorator = true;
    } else if (inDecorator) {
      decorators.push(source[index]!);
    } else if (current) {
      current.code.push(line);
      current.source.push(source[index]!);
    }
  });
  if (current) found.push(finish(current));
  return found;
}

function finish(statement: {
  keyword: string;
  name: string;
  decorators: string;
  code: string[];
  source: string[];
}): BicepStatement {
  return { ...statement, code: statement.code.join('\n'), source: statement.source.join('\n') };
}

export function parameters(text: string): BicepParameter[] {
  return statements(text)
    .filter((statement) => statement.keyword === 'param')
    .map((statement) => ({
      name: statement.name,
      hasDefault: /^param\s+\S+\s+[^=\n]+=/.test(statement.code),
      described: /@description\(/.test(statement.decorators),
    }));
}

/**
 * Keys of the object literals in `code` at the first object level: `{ A: x }` and `cond ? { B: y } : {}` give A
 * and B; keys of objects nested inside them do not count. A key starts a line or follows `{` or `,`.
 */
export function objectKeys(code: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < code.length; i += 1) {
    const char = code[i]!;
    if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    else if (depth === 1 && /[A-Za-z_]/.test(char) && !/[A-Za-z0-9_.]/.test(code[i - 1] ?? ' ')) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(code.slice(i));
      const before = code.slice(0, i).replace(/[ \t]+$/, '');
      if (match && /(^|[\n{,])$/.test(before)) keys.push(match[1]!);
      if (match) i += match[1]!.length - 1;
    }
  }
  return keys;
}

/** The object after `name:` inside a statement (e.g. a module's `params`), braces included. */
export function propertyObject(code: string, name: string): string {
  const at = new RegExp(`\\n\\s*${name}:\\s*\\{`).exec(code);
  if (!at) return '';
  const start = code.indexOf('{', at.index);
  let depth = 0;
  for (let i = start; i < code.length; i += 1) {
    if (code[i] === '{') depth += 1;
    if (code[i] === '}') depth -= 1;
    if (depth === 0) return code.slice(start, i + 1);
  }
  return code.slice(start);
}

export function readText(url: URL): string {
  return readFileSync(url, 'utf8');
}
