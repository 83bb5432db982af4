import { simpleParser, type AddressObject } from 'mailparser';
import type { Output } from '../../src/cli/output.ts';
import type { GraphOverrides } from '../../src/composition-root.ts';
import type { Config } from '../../src/config/config.ts';
import type { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { clientState, mailboxName } from '../graph/helpers.ts';
import { testEnv } from '../helpers/engine.ts';

/** An Output that keeps what the CLI prints. */
export function collectingOutput(): Output & { lines: string[]; errors: string[]; text(): string } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
    text: () => [...lines, ...errors].join('\n'),
  };
}

export const clientSecret = 'unused-secret-value';

/** The environment of a Graph deployment against the stand-in, on a database in `dir`. */
export function graphEnv(
  dir: string,
  standIn: GraphStandIn,
  publicBaseUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return testEnv(dir, {
    GRAPH_TENANT_ID: '00000000-0000-0000-0000-000000000001',
    GRAPH_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
    GRAPH_AUTH: 'client-secret',
    GRAPH_CLIENT_SECRET: clientSecret,
    SUPPORT_MAILBOX: mailboxName,
    PUBLIC_BASE_URL: publicBaseUrl,
    GRAPH_CLIENT_STATE: clientState,
    GRAPH_BASE_URL: standIn.baseUrl,
    ...extra,
  });
}

/** The CLI's environment for the database and URL a running Graph app (test/graph/graph-app.ts) uses. */
export function envOfApp(config: Config, standIn: GraphStandIn, baseUrl: string): Record<string, string> {
  return graphEnv('.', standIn, baseUrl, {
    DATABASE_URL: config.DATABASE_URL,
    MAILBOX_DIR: config.MAILBOX_DIR,
  });
}

/** What the CLI passes to the Graph intake in tests: the stand-in's token and certificate. */
export function standInOverrides(standIn: GraphStandIn): GraphOverrides {
  return { credential: standIn.credential, fetchOptions: standIn.fetchOptions, requestTimeoutMs: 2_000 };
}

export interface ParsedMail {
  from: string[];
  to: string[];
  subject: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
}

/** Parses a sent MIME message (the stand-in's sendMail record or a file in sent/). */
export async function parseMail(mime: string | Buffer): Promise<ParsedMail> {
  const parsed = await simpleParser(mime);
  const headers: Record<string, string> = {};
  for (const line of parsed.headerLines) {
    headers[line.key] ??= line.line.slice(line.line.indexOf(':') + 1).trim();
  }
  const addresses = (value: AddressObject | AddressObject[] | undefined): string[] =>
    (value === undefined ? [] : Array.isArray(value) ? value : [value]).flatMap((object) =>
      object.value.map((entry) => (entry.address ?? '').toLowerCase()),
    );
  return {
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    subject: parsed.subject ?? '',
    headers,
    text: parsed.text ?? '',
  };
}
