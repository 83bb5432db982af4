/** Builds readable test mails; every call gets its own Message-ID unless one is given. */
export function mail(options: {
  from: string;
  to?: string;
  subject: string;
  body?: string;
  messageId?: string;
  headers?: Record<string, string>;
}): string {
  const id = options.messageId ?? `${Math.random().toString(36).slice(2)}.${Date.now()}@test.example`;
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `From: ${options.from}\r\nTo: ${options.to ?? 'support@msp.example'}\r\nSubject: ${options.subject}\r\n` +
    `Date: Fri, 27 Nov 2026 09:00:00 +0000\r\nMessage-ID: <${id}>\r\n${extra}` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\n${options.body ?? 'Hello,\r\nplease help.\r\n'}`
  );
}
