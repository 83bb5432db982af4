import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { testCertificate } from '../graph-stand-in/certificate.ts';

/** Someone who signs in at the stand-in: the claims their ID token gets. */
export interface StandInUser {
  oid: string;
  name: string;
  username: string;
  roles?: string[];
  groups?: string[];
}

export interface OidcStandInOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | null;
  user: StandInUser;
}

/**
 * A local HTTPS Microsoft Entra ID, just what a web sign-in and an admin consent use: the OpenID configuration,
 * authorize (signs in whoever `signInAs` names, at once), token (authorization code with PKCE, client secret), the
 * signing keys (JWKS), and adminconsent. ID tokens are RS256-signed with a key made at start.
 */
export class OidcStandIn {
  readonly requests: { method: string; path: string }[] = [];
  readonly #options: OidcStandInOptions;
  readonly #server: https.Server;
  readonly #sockets = new Set<Socket>();
  readonly #codes = new Map<string, IssuedCode>();
  readonly #key: KeyObject;
  readonly #jwk: Record<string, unknown>;
  #user: StandInUser | null = null;
  #port = 0;
  /** Signs ID tokens with another key than the one published (a forged token). */
  forgeSignatures = false;

  private constructor(options: OidcStandInOptions) {
    this.#options = options;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#key = privateKey;
    this.#jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'stand-in-key-1', use: 'sig', alg: 'RS256' };
    const certificate = testCertificate();
    this.#server = https.createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(error) });
      });
    });
  }

  static async start(options: OidcStandInOptions): Promise<OidcStandIn> {
    const standIn = new OidcStandIn(options);
    standIn.#server.on('connection', (socket: Socket) => {
      standIn.#sockets.add(socket);
      socket.on('close', () => standIn.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.#port = (standIn.#server.address() as AddressInfo).port;
    return standIn;
  }

  /** The ADMIN_AUTHORITY_HOST to configure. */
  get authorityHost(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get issuer(): string {
    return `${this.authorityHost}/${this.#options.tenantId}/v2.0`;
  }

  /** Who the next authorize request signs in. */
  signInAs(user: StandInUser): void {
    this.#user = user;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.authorityHost);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname });
    const tenant = `/${this.#options.tenantId}`;
    const path = url.pathname.startsWith(tenant) ? url.pathname.slice(tenant.length) : null;
    if (path === '/v2.0/.well-known/openid-configuration') return json(res, 200, this.#configuration());
    if (path === '/discovery/v2.0/keys') return json(res, 200, { keys: [this.#jwk] });
    if (path === '/oauth2/v2.0/authorize' && req.method === 'GET') return this.#authorize(url, res);
    if (path === '/oauth2/v2.0/token' && req.method === 'POST') return this.#token(await readBody(req), res);
    if (path === '/adminconsent' && req.method === 'GET') {
      const target = new URL(url.searchParams.get('redirect_uri') ?? '');
      target.searchParams.set('admin_consent', 'True');
      target.searchParams.set('tenant', this.#options.tenantId);
      target.searchParams.set('state', url.searchParams.get('state') ?? '');
      return redirect(res, target.toString());
    }
    json(res, 404, { error: 'not_found' });
  }

  #configuration(): Record<string, unknown> {
    const base = `${this.authorityHost}/${this.#options.tenantId}`;
    return {
      issuer: this.issuer,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      response_types_supported: ['code', 'id_token', 'code id_token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  #authorize(url: URL, res: ServerResponse): void {
    const params = url.searchParams;
    const redirectUri = params.get('redirect_uri') ?? '';
    const target = new URL(redirectUri);
    if (params.get('client_id') !== this.#options.clientId || !this.#user) {
      target.searchParams.set('error', 'unauthorized_client');
      target.searchParams.set('error_description', 'AADSTS700016: Application not found in the directory.');
    } else if (params.get('code_challenge_method') !== 'S256' || !params.get('code_challenge')) {
      target.searchParams.set('error', 'invalid_request');
      target.searchParams.set('error_description', 'AADSTS9002325: Proof Key for Code Exchange is required.');
    } else {
      const code = randomBytes(24).toString('base64url');
      this.#codes.set(code, {
        clientId: this.#options.clientId,
        redirectUri,
        challenge: params.get('code_challenge') ?? '',
        nonce: params.get('nonce'),
        user: this.#user,
      });
      target.searchParams.set('code', code);
    }
    target.searchParams.set('state', params.get('state') ?? '');
    redirect(res, target.toString());
  }

  #token(body: string, res: ServerResponse): void {
    const form = new URLSearchParams(body);
    const issued = this.#codes.get(form.get('code') ?? '');
    this.#codes.delete(form.get('code') ?? '');
    if (form.get('client_secret') !== this.#options.clientSecret)
      return json(res, 401, {
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret provided.',
      });
    if (
      !issued ||
      form.get('grant_type') !== 'authorization_code' ||
      form.get('redirect_uri') !== issued.redirectUri
    )
      return json(res, 400, {
        error: 'invalid_grant',
        error_description: 'AADSTS70008: The provided authorization code is invalid.',
      });
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== issued.challenge)
      return json(res, 400, {
        error: 'invalid_grant',
        error_description: 'AADSTS501481: The Code_Verifier does not match.',
      });
    const now = Math.floor(Date.now() / 1000);
    const user = issued.user;
    const idToken = this.#sign({
      ver: '2.0',
      iss: this.issuer,
      aud: issued.clientId,
      iat: now,
      nbf: now,
      exp: now + 3600,
      sub: `sub-${user.oid}`,
      oid: user.oid,
      tid: this.#options.tenantId,
      name: user.name,
      preferred_username: user.username,
      ...(issued.nonce ? { nonce: issued.nonce } : {}),
      ...(user.roles ? { roles: user.roles } : {}),
      ...(user.groups ? { groups: user.groups } : {}),
    });
    json(res, 200, {
      token_type: 'Bearer',
      scope: 'openid profile',
      expires_in: 3600,
      ext_expires_in: 3600,
      access_token: this.#sign({ aud: '00000003-0000-0000-c000-000000000000', iat: now, exp: now + 3600 }),
      id_token: idToken,
      client_info: Buffer.from(JSON.stringify({ uid: user.oid, utid: this.#options.tenantId })).toString(
        'base64url',
      ),
    });
  }

  #sign(claims: Record<string, unknown>): string {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'stand-in-key-1' })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const key = this.forgeSignatures
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : this.#key;
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }
}

/** A JWT-shaped token carrying `claims`, unsigned: what a Graph stand-in token looks like to a reader. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
