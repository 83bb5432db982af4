import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** The claims of an ID token this console looks at. */
export interface IdTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  tid?: string;
  oid?: string;
  nonce?: string;
  exp: number;
  nbf?: number;
  name?: string;
  preferred_username?: string;
  roles?: string[];
  groups?: string[];
  /** Present instead of `groups` when the user is in more groups than fit into a token. */
  _claim_names?: { groups?: string };
}

export class IdTokenError extends Error {
  override name = 'IdTokenError';
}

/** Decodes a JWT's payload without checking it: only for showing what a token we just received carries. */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

interface Expected {
  issuer: string;
  audience: string;
  nonce: string;
  nowSeconds: number;
}

/** Clock difference tolerated between Entra ID and this host. */
const skewSeconds = 300;

/**
 * Verifies an ID token as OpenID Connect Core §3.1.3.7 asks: an RS256 signature by a key of the issuer's JWKS
 * (found by `kid`), the issuer, the audience, the lifetime and the nonce of this sign-in.
 */
export async function verifyIdToken(
  token: string,
  keyFor: (kid: string) => Promise<KeyObject | null>,
  expected: Expected,
): Promise<IdTokenClaims> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new IdTokenError('the ID token is not a JWT');
  const [headerText, payloadText, signatureText] = parts as [string, string, string];
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = JSON.parse(Buffer.from(headerText, 'base64url').toString('utf8')) as typeof header;
  } catch {
    throw new IdTokenError('the ID token header is not JSON');
  }
  if (header.alg !== 'RS256')
    throw new IdTokenError(`the ID token is signed with ${String(header.alg)}, not RS256`);
  if (typeof header.kid !== 'string') throw new IdTokenError('the ID token names no signing key');
  const key = await keyFor(header.kid);
  if (!key) throw new IdTokenError('the ID token is signed by a key the issuer does not publish');
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${headerText}.${payloadText}`, 'ascii'),
    key,
    Buffer.from(signatureText, 'base64url'),
  );
  if (!signed) throw new IdTokenError('the ID token signature is not valid');
  const claims = decodeJwtPayload(token) as IdTokenClaims | null;
  if (!claims) throw new IdTokenError('the ID token payload is not JSON');
  if (claims.iss !== expected.issuer) throw new IdTokenError(`the ID token comes from another issuer`);
  if (claims.aud !== expected.audience)
    throw new IdTokenError('the ID token is meant for another application');
  if (typeof claims.exp !== 'number' || claims.exp + skewSeconds < expected.nowSeconds)
    throw new IdTokenError('the ID token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf - skewSeconds > expected.nowSeconds)
    throw new IdTokenError('the ID token is not valid yet');
  if (claims.nonce !== expected.nonce)
    throw new IdTokenError('the ID token belongs to another sign-in (nonce)');
  return claims;
}

/** An RSA signing key from a JWKS entry. */
export function publicKeyOf(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}
