import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';

/** The scope of a token for Azure SQL (tedious asks for the one the server names, normally this one). */
export const sqlDatabaseScope = 'https://database.windows.net/.default';

/** How the connector signs in to SQL Server with Microsoft Entra ID. */
export type EntraAuthentication =
  /** A managed identity: system-assigned, or the user-assigned one with this client id. */
  | { kind: 'managed-identity'; clientId: string | null }
  /** An app registration with a client secret. */
  | { kind: 'service-principal'; tenantId: string; clientId: string; clientSecret: string }
  /**
   * DefaultAzureCredential: the AZURE_* environment, workload identity, a managed identity, then a developer's
   * signed-in Azure CLI (or PowerShell, azd). Convenient on a laptop; in production the explicit managed identity
   * cannot pick up an identity nobody meant.
   */
  | { kind: 'default-credential'; managedIdentityClientId: string | null };

/** The @azure/identity credential for a way of signing in. */
export function createEntraCredential(authentication: EntraAuthentication): TokenCredential {
  switch (authentication.kind) {
    case 'managed-identity':
      return authentication.clientId
        ? new ManagedIdentityCredential({ clientId: authentication.clientId })
        : new ManagedIdentityCredential();
    case 'service-principal':
      return new ClientSecretCredential(
        authentication.tenantId,
        authentication.clientId,
        authentication.clientSecret,
      );
    case 'default-credential':
      return authentication.managedIdentityClientId
        ? new DefaultAzureCredential({ managedIdentityClientId: authentication.managedIdentityClientId })
        : new DefaultAzureCredential();
  }
}

/** A token is renewed this long before it expires when the credential gives no earlier hint. */
const renewBeforeExpiryMs = 5 * 60_000;
/** A token this close to expiry is never handed to a login. */
const unusableBeforeExpiryMs = 30_000;

/**
 * Hands every new pooled connection a token, renewing it before it expires. Some credentials (the Azure CLI's)
 * ask an outside program on every call; one shared token per scope keeps connection churn from doing so. When a
 * renewal fails while the old token is still good for a while, the old token is used and the next login tries
 * again.
 */
export class RefreshingTokenCredential implements TokenCredential {
  readonly #inner: TokenCredential;
  readonly #now: () => number;
  readonly #tokens = new Map<string, AccessToken>();
  readonly #pending = new Map<string, Promise<AccessToken | null>>();

  constructor(inner: TokenCredential, now: () => number = Date.now) {
    this.#inner = inner;
    this.#now = now;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const key = ([] as string[]).concat(scopes).join(' ');
    const cached = this.#tokens.get(key);
    const now = this.#now();
    const renewAt = cached
      ? (cached.refreshAfterTimestamp ?? cached.expiresOnTimestamp - renewBeforeExpiryMs)
      : 0;
    if (cached && now < renewAt) return cached;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#inner.getToken(scopes, options).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    try {
      const token = await pending;
      if (token) this.#tokens.set(key, token);
      return token;
    } catch (error) {
      if (cached && this.#now() < cached.expiresOnTimestamp - unusableBeforeExpiryMs) return cached;
      throw error;
    }
  }
}
