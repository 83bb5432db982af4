/**
 * Reads the part of YAML that azure.yaml uses: nested mappings by indentation, plain one-line scalars and comments.
 * Anything else (lists, block or quoted scalars, anchors) is an error, so a change that needs more fails loudly here
 * instead of being misread.
 */
export type YamlMapping = { [key: string]: string | YamlMapping };

export function parseSimpleYaml(text: string): YamlMapping {
  const root: YamlMapping = {};
  const stack: { indent: number; mapping: YamlMapping }[] = [{ indent: -1, mapping: root }];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '');
    if (line.trim() === '') return;
    const match = /^( *)([A-Za-z0-9_.-]+):(?: +(.*))?$/.exec(line);
    const value = match?.[3]?.trim();
    if (!match || (value !== undefined && /^[-[{|>&*!'"]/.test(value))) {
      throw new Error(`azure.yaml line ${index + 1}: not in the YAML subset this test reads: ${raw}`);
    }
    const indent = match[1]!.length;
    while (indent <= stack.at(-1)!.indent) stack.pop();
    const parent = stack.at(-1)!.mapping;
    if (value === undefined || value === '') {
      const child: YamlMapping = {};
      parent[match[2]!] = child;
      stack.push({ indent, mapping: child });
    } else {
      parent[match[2]!] = value;
    }
  });
  return root;
}

/** The value at a dotted path, e.g. `services.connector.host`; undefined when any step is missing. */
export function at(mapping: YamlMapping, path: string): string | YamlMapping | undefined {
  let current: string | YamlMapping | undefined = mapping;
  for (const key of path.split('.')) {
    if (current === undefined || typeof current === 'string') return undefined;
    current = current[key];
  }
  return current;
}
