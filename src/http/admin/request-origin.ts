import type { Request } from 'express';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Whether a request comes from this machine itself: a loopback peer that no proxy stands in for. A reverse proxy
 * on the same machine connects from loopback on behalf of anyone, and says so in its forwarding headers; the
 * socket's address is used, never X-Forwarded-For, which any client can write.
 */
export function isLocalRequest(req: Pick<Request, 'headers' | 'socket'>): boolean {
  return isLocalPeer(req.socket.remoteAddress ?? '', req.headers);
}

export function isLocalPeer(remoteAddress: string, headers: Request['headers']): boolean {
  const loopback =
    remoteAddress === '::1' || /^(::ffff:)?127\./.test(remoteAddress) || remoteAddress === '127.0.0.1';
  const proxied = ['x-forwarded-for', 'forwarded', 'x-forwarded-host', 'x-real-ip'].some(
    (name) => headers[name] !== undefined,
  );
  return loopback && !proxied;
}

/**
 * Whether the Host header names this machine: a page from another site that rebinds its own name to 127.0.0.1
 * reaches us with its name in Host, and is refused.
 */
export function hasLoopbackHost(req: Pick<Request, 'headers'>): boolean {
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return loopbackHosts.has(name.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The origin a form of ours is posted from: the configured public address, else the address the browser used. */
export function expectedOrigin(req: Request, publicBaseUrl: string | null): string {
  if (publicBaseUrl) return new URL(publicBaseUrl).origin;
  return `${req.protocol}://${req.headers.host ?? ''}`;
}

/**
 * Whether a POST comes from one of our own pages. Browsers send Origin with every POST; Referer stands in where a
 * privacy setting removed Origin. A request with neither (not a browser) relies on the anti-forgery token alone.
 */
export function isSameOrigin(req: Request, origin: string): boolean {
  const sent = req.headers.origin;
  if (typeof sent === 'string' && sent !== 'null') return sent === origin;
  if (sent === 'null') return false;
  const referer = req.headers.referer;
  if (typeof referer === 'string') {
    try {
      return new URL(referer).origin === origin;
    } catch {
      return false;
    }
  }
  return true;
}
