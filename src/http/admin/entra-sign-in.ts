import { randomBytes, X509Certificate, createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  ResponseMode,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import type { Config } from '../../config/config.ts';
import type { AdminUser, PendingSignIn } from './admin-session.ts';
import { IdTokenError, publicKeyOf, verifyIdToken, type IdTokenClaims } from './id-token.ts';

export const defaultAuthorityHost = 'https://login.microsoftonline.com';

export interface EntraSignInOptions {
  config: Config;
  /**
   * The fetch used for every Entra ID request (metadata, token, signing keys); tests pass one trusting a local
   * stand-in's certificate. Default: MSAL's own HTTP client for MSAL, the global fetch for the signing keys.
   */
  fetch?: typeof fetch;
  now?: () => Date;
}

export type SignInResult =
  | { ok: true; user: AdminUser }
  | { ok: false; status: 400 | 403 | 502; message: string; user: AdminUser | null };

interface Metadata {
  issuer: string;
  jwksUri: string;
}

/** Signing keys are fetched again at most this often when a token names an unknown one (key rotation). */
const keyRefreshMs = 60_000;

/**
 * Sign-in with Microsoft Entra ID: the authorization code flow with PKCE through MSAL, then the ID token checked
 * here (MSAL does not verify its signature) and the user admitted only as a member of ADMIN_ALLOWED_ROLE or
 * ADMIN_ALLOWED_GROUP.
 */
export class EntraSignIn {
  readonly redirectUri: string;
  readonly #config: Config;
  readonly #client: ConfidentialClientApplication;
  readonly #crypto = new CryptoProvider();
  readonly #fetch: typeof fetch;
  readonly #now: () => Date;
  readonly #authority: string;
  #metadata: Promise<Metadata> | null = null;
  #keys = new Map<string, KeyObject>();
  #keysFetchedAt = 0;

  constructor(options: EntraSignInOptions) {
    const { config } = options;
    if (!config.ADMIN_TENANT_ID || !config.ADMIN_CLIENT_ID || !config.PUBLIC_BASE_URL)
      throw new Error(
        'ADMIN_TENANT_ID, ADMIN_CLIENT_ID and PUBLIC_BASE_URL are required for ADMIN_AUTH=entra',
      );
    this.#config = config;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? (() => new Date());
    const host = config.ADMIN_AUTHORITY_HOST ?? defaultAuthorityHost;
    this.#authority = `${host}/${config.ADMIN_TENANT_ID}`;
    this.redirectUri = `${config.PUBLIC_BASE_URL}/auth/callback`;
    const msal: Configuration = {
      auth: {
        clientId: config.ADMIN_CLIENT_ID,
        authority: this.#authority,
        ...clientCredential(config),
        // Another host (a sovereign cloud, a test stand-in) is trusted as named instead of discovered.
        ...(host === defaultAuthorityHost ? {} : { knownAuthorities: [new URL(host).host] }),
      },
      ...(options.fetch ? { system: { networkClient: fetchNetworkModule(options.fetch) } } : {}),
    };
    this.#client = new ConfidentialClientApplication(msal);
  }

  /** Where to send the browser, and what the callback must find again. */
  async start(returnTo: string): Promise<{ url: string; pending: Omit<PendingSignIn, 'expiresAt'> }> {
    const { verifier, challenge } = await this.#crypto.generatePkceCodes();
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const url = await this.#client.getAuthCodeUrl({
      scopes: ['openid', 'profile'],
      redirectUri: this.redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state,
      nonce,
      responseMode: ResponseMode.QUERY,
    });
    return { url, pending: { verifier, state, nonce, returnTo } };
  }

  /** Redeems the code of the callback and decides whether the user may in. */
  async finish(query: Record<string, unknown>, pending: PendingSignIn | null): Promise<SignInResult> {
    if (typeof query.error === 'string') {
      const description = typeof query.error_description === 'string' ? query.error_description : '';
      return refuse(400, `Entra ID did not sign you in: ${query.error} ${firstLine(description)}`.trim());
    }
    if (!pending || typeof query.state !== 'string' || query.state !== pending.state)
      return refuse(400, 'This sign-in expired or was started in another browser. Sign in again.');
    if (typeof query.code !== 'string' || query.code === '')
      return refuse(400, 'Entra ID sent no authorization code. Sign in again.');
    let idToken: string;
    try {
      const result = await this.#client.acquireTokenByCode({
        code: query.code,
        scopes: ['openid', 'profile'],
        redirectUri: this.redirectUri,
        codeVerifier: pending.verifier,
        nonce: pending.nonce,
      });
      idToken = result.idToken;
      // Nothing of this sign-in is needed again: the session cookie carries who signed in.
      if (result.account) await this.#client.getTokenCache().removeAccount(result.account);
    } catch (error) {
      const code = (error as { errorCode?: string }).errorCode ?? (error as Error).name;
      return refuse(502, `Entra ID would not redeem the sign-in (${code}). Sign in again.`);
    }
    let claims: IdTokenClaims;
    try {
      const metadata = await this.#loadMetadata();
      claims = await verifyIdToken(idToken, (kid) => this.#keyFor(kid), {
        issuer: metadata.issuer,
        audience: this.#config.ADMIN_CLIENT_ID as string,
        nonce: pending.nonce,
        nowSeconds: Math.floor(this.#now().getTime() / 1000),
      });
    } catch (error) {
      if (error instanceof IdTokenError) return refuse(403, `The sign-in was refused: ${error.message}.`);
      return refuse(502, `Could not check the sign-in with Entra ID: ${(error as Error).message}`);
    }
    const user: AdminUser = {
      id: claims.oid ?? claims.sub,
      name: claims.name ?? claims.preferred_username ?? claims.sub,
      username: claims.preferred_username ?? null,
    };
    return this.#admit(claims, user);
  }

  #admit(claims: IdTokenClaims, user: AdminUser): SignInResult {
    const role = this.#config.ADMIN_ALLOWED_ROLE;
    const group = this.#config.ADMIN_ALLOWED_GROUP?.toLowerCase() ?? null;
    if (role && (claims.roles ?? []).includes(role)) return { ok: true, user };
    if (group && (claims.groups ?? []).some((entry) => entry.toLowerCase() === group))
      return { ok: true, user };
    const wanted = [role ? `the app role "${role}"` : null, group ? `the group ${group}` : null]
      .filter(Boolean)
      .join(' or ');
    const overage =
      group && claims._claim_names?.groups
        ? ' Your account is in too many groups for the token to list them: ask for the app role instead.'
        : '';
    return {
      ok: false,
      status: 403,
      user,
      message: `${user.name} is signed in but not a member of ${wanted}, which this console requires.${overage}`,
    };
  }

  #loadMetadata(): Promise<Metadata> {
    this.#metadata ??= (async () => {
      const document = await this.#getJson(`${this.#authority}/v2.0/.well-known/openid-configuration`);
      if (typeof document.issuer !== 'string' || typeof document.jwks_uri !== 'string')
        throw new Error('the OpenID configuration names no issuer or keys');
      return { issuer: document.issuer, jwksUri: document.jwks_uri };
    })().catch((error: unknown) => {
      this.#metadata = null;
      throw error;
    });
    return this.#metadata;
  }

  async #keyFor(kid: string): Promise<KeyObject | null> {
    const known = this.#keys.get(kid);
    if (known) return known;
    if (Date.now() - this.#keysFetchedAt < keyRefreshMs && this.#keys.size > 0) return null;
    const { jwksUri } = await this.#loadMetadata();
    const document = await this.#getJson(jwksUri);
    const keys = new Map<string, KeyObject>();
    for (const jwk of (document.keys ?? []) as (JsonWebKey & { kid?: string; use?: string })[]) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA' || (jwk.use && jwk.use !== 'sig')) continue;
      keys.set(jwk.kid, publicKeyOf(jwk));
    }
    this.#keys = keys;
    this.#keysFetchedAt = Date.now();
    return keys.get(kid) ?? null;
  }

  async #getJson(url: string): Promise<Record<string, unknown>> {
    const response = await this.#fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`${new URL(url).host} answered HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }
}

function refuse(status: 400 | 403 | 502, message: string): SignInResult {
  return { ok: false, status, message, user: null };
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The app registration's own credential: a secret, or a certificate whose thumbprint Entra ID knows. */
function clientCredential(config: Config): Pick<Configuration['auth'], 'clientSecret' | 'clientCertificate'> {
  if (config.ADMIN_CLIENT_SECRET) return { clientSecret: config.ADMIN_CLIENT_SECRET };
  const pem = readFileSync(config.ADMIN_CERTIFICATE_PATH as string, 'utf8');
  const certificate = new X509Certificate(pem);
  return {
    clientCertificate: {
      thumbprintSha256: certificate.fingerprint256.replace(/:/g, ''),
      privateKey: createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString(),
      x5c: certificate.toString(),
    },
  };
}

/** MSAL's network interface over a fetch function. */
function fetchNetworkModule(fetchFn: typeof fetch): INetworkModule {
  const send = async <T>(
    url: string,
    method: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const response = await fetchFn(url, {
      method,
      headers: options?.headers,
      body: options?.body,
      signal: AbortSignal.timeout(10_000),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const text = await response.text();
    let body: unknown = {};
    try {
      body = JSON.parse(text);
    } catch {
      // MSAL reads the status then; an empty object stands for a body that is not JSON.
    }
    return { headers, body: body as T, status: response.status };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}
