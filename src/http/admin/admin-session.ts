import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { CookieSealer } from './sealed-cookie.ts';

/** Who is signed in; null on the local console, which has no sign-in. */
export interface AdminUser {
  /** The ID token's object id (`oid`), else its subject. */
  id: string;
  name: string;
  username: string | null;
}

export interface AdminSession {
  user: AdminUser | null;
  /** The anti-forgery token every form of this session carries. */
  csrf: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** A sign-in in progress: what the callback must find again (PKCE verifier, state, nonce). */
export interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  expiresAt: number;
}

export type SessionLookup =
  { state: 'none' } | { state: 'invalid' } | { state: 'valid'; session: AdminSession };

const sessionPurpose = 'admin-session';
const pendingPurpose = 'admin-sign-in';
const pendingLifetimeMs = 10 * 60_000;

/**
 * Sessions live in a sealed cookie (nothing on the server, so every instance shares them through SESSION_SECRET):
 * HttpOnly, SameSite=Lax, Secure (and the `__Host-` prefix) over HTTPS, with an absolute expiry inside the seal.
 */
export class AdminSessions {
  readonly #sealer: CookieSealer;
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(options: { sealer: CookieSealer; lifetimeMs: number; now?: () => number }) {
    this.#sealer = options.sealer;
    this.#lifetimeMs = options.lifetimeMs;
    this.#now = options.now ?? Date.now;
  }

  read(req: Request): SessionLookup {
    const text = readCookie(req, cookieName(req, 'session'));
    if (text === null) return { state: 'none' };
    const value = this.#sealer.open(sessionPurpose, text) as AdminSession | null;
    if (!value || typeof value.csrf !== 'string' || !(value.expiresAt > this.#now()))
      return { state: 'invalid' };
    return { state: 'valid', session: value };
  }

  create(req: Request, res: Response, user: AdminUser | null): AdminSession {
    const session: AdminSession = {
      user,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#lifetimeMs,
    };
    setCookie(req, res, 'session', this.#sealer.seal(sessionPurpose, session), this.#lifetimeMs);
    return session;
  }

  clear(req: Request, res: Response): void {
    setCookie(req, res, 'session', '', 0);
  }

  readPending(req: Request): PendingSignIn | null {
    const text = readCookie(req, cookieName(req, 'sign-in'));
    const value = text === null ? null : (this.#sealer.open(pendingPurpose, text) as PendingSignIn | null);
    return value && value.expiresAt > this.#now() ? value : null;
  }

  createPending(req: Request, res: Response, pending: Omit<PendingSignIn, 'expiresAt'>): void {
    const value: PendingSignIn = { ...pending, expiresAt: this.#now() + pendingLifetimeMs };
    setCookie(req, res, 'sign-in', this.#sealer.seal(pendingPurpose, value), pendingLifetimeMs);
  }

  clearPending(req: Request, res: Response): void {
    setCookie(req, res, 'sign-in', '', 0);
  }

  /** The OAuth `state` of an admin-consent round trip: bound to the session, without revealing its token. */
  consentState(session: AdminSession): string {
    return this.#sealer.derive('admin consent state', session.csrf);
  }
}

/** Whether a posted anti-forgery token is this session's, compared in constant time. */
export function csrfMatches(session: AdminSession, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length === 0) return false;
  const expected = Buffer.from(session.csrf, 'utf8');
  const given = Buffer.from(sent, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function cookieName(req: Request, kind: 'session' | 'sign-in'): string {
  const base = kind === 'session' ? 'ec-admin' : 'ec-admin-sign-in';
  // Browsers accept a __Host- cookie only when it is Secure, host-only and for Path=/: it cannot be planted by
  // a sibling subdomain.
  return req.secure ? `__Host-${base}` : base;
}

function setCookie(
  req: Request,
  res: Response,
  kind: 'session' | 'sign-in',
  value: string,
  maxAgeMs: number,
): void {
  const attributes = [
    `${cookieName(req, kind)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    ...(req.secure ? ['Secure'] : []),
  ];
  res.append('Set-Cookie', attributes.join('; '));
}

function readCookie(req: Request, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at === -1) continue;
    if (part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}
