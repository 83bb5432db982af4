import { readFileSync } from 'node:fs';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import type { Config } from '../../config/config.ts';

/** The scope of an app-only token for Microsoft Graph. */
export const graphScope = 'https://graph.microsoft.com/.default';

/**
 * The credential chosen by GRAPH_AUTH. DefaultAzureCredential is deliberately not used: in production its chain
 * can silently pick up a developer's or a VM's identity instead of the one configured.
 */
export function createGraphCredential(config: Config): TokenCredential {
  switch (config.GRAPH_AUTH) {
    case 'managed-identity':
      return config.GRAPH_MANAGED_IDENTITY_CLIENT_ID
        ? new ManagedIdentityCredential({ clientId: config.GRAPH_MANAGED_IDENTITY_CLIENT_ID })
        : new ManagedIdentityCredential();
    case 'client-certificate': {
      const tenant = required(config.GRAPH_TENANT_ID, 'GRAPH_TENANT_ID');
      const client = required(config.GRAPH_CLIENT_ID, 'GRAPH_CLIENT_ID');
      const path = required(config.GRAPH_CERTIFICATE_PATH, 'GRAPH_CERTIFICATE_PATH');
      // Read once at start so a missing file fails fast instead of on the first token request.
      const certificate = readFileSync(path, 'utf8');
      return new ClientCertificateCredential(tenant, client, { certificate });
    }
    case 'client-secret':
      return new ClientSecretCredential(
        required(config.GRAPH_TENANT_ID, 'GRAPH_TENANT_ID'),
        required(config.GRAPH_CLIENT_ID, 'GRAPH_CLIENT_ID'),
        required(config.GRAPH_CLIENT_SECRET, 'GRAPH_CLIENT_SECRET'),
      );
  }
}

function required(value: string | null, name: string): string {
  if (!value) throw new Error(`${name} is required for GRAPH_AUTH`);
  return value;
}

/** How the credential's last token request ended; `error` is null when it gave a token. */
export interface TokenOutcome {
  at: Date;
  error: string | null;
  /** When the credential started failing (the first failure after a token), null while it works. */
  failingSince: Date | null;
}

/**
 * A credential that remembers how its last token request ended, so that readiness can tell a failing credential
 * from a quiet mailbox without asking the identity endpoint on every probe.
 */
export class ObservedCredential implements TokenCredential {
  readonly #inner: TokenCredential;
  readonly #now: () => Date;
  #last: TokenOutcome | null = null;

  constructor(inner: TokenCredential, now: () => Date = () => new Date()) {
    this.#inner = inner;
    this.#now = now;
  }

  /** Null until the first token request has ended. */
  get last(): TokenOutcome | null {
    return this.#last;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    try {
      const token = await this.#inner.getToken(scopes, options);
      this.#record(token ? null : 'the credential returned no token');
      return token;
    } catch (error) {
      this.#record(describeCredentialError(error));
      throw error;
    }
  }

  #record(error: string | null): void {
    const at = this.#now();
    const failingSince = error === null ? null : (this.#last?.failingSince ?? at);
    this.#last = { at, error, failingSince };
  }
}

/**
 * The first line of a credential's error, shortened: identity errors name the tenant and a trace id, never the
 * secret, but they can run to many lines of advice.
 */
function describeCredentialError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}
