import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  status: number;
  contentType: string | null;
  body: string;
}

/** One request with a deadline, trusting `ca` for https; the answer's status, type and text. */
function send(
  method: 'GET' | 'POST',
  url: string,
  body: string | null,
  options: { ca: string; contentType?: string; timeoutMs: number },
): Promise<PostResult> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const headers =
    body === null
      ? {}
      : { 'content-type': options.contentType ?? 'text/plain', 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method,
        headers,
        timeout: options.timeoutMs,
        ...(target.protocol === 'https:' ? { ca: options.ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? null,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from ${target.pathname} within ${options.timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

/** A POST with a deadline, trusting `ca` for https; what Graph does when it calls a webhook. */
export function post(
  url: string,
  body: string,
  options: { ca: string; contentType: string; timeoutMs: number },
): Promise<PostResult> {
  return send('POST', url, body, options);
}

/** A GET trusting `ca`, e.g. the app's `/readyz` when it serves HTTPS with the test certificate. */
export function get(url: string, options: { ca: string; timeoutMs: number }): Promise<PostResult> {
  return send('GET', url, null, options);
}
