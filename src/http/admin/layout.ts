import { html, type SafeHtml } from './html.ts';
import type { AdminSession } from './admin-session.ts';

export interface PageFrame {
  title: string;
  /** Signed-in session (shows who and a sign-out button), or null. */
  session: AdminSession | null;
  /** Seconds between live refreshes of the page's live sections; 0 = none. */
  refreshSeconds?: number;
  /** Section links for the navigation bar. */
  sections?: { id: string; label: string }[];
  body: SafeHtml;
}

/** The page shell: landmarks, skip link, our own stylesheet and script (no inline code: the CSP forbids it). */
export function page(frame: PageFrame): string {
  const user = frame.session?.user ?? null;
  const who = user
    ? html`<div class="who">
        <span>Signed in as <strong>${user.name}</strong></span>
        <form class="inline" method="post" action="/auth/sign-out">
          <input type="hidden" name="_csrf" value="${frame.session?.csrf}" />
          <button class="secondary" type="submit">Sign out</button>
        </form>
      </div>`
    : html`<div class="who"><span>Local console (this machine only)</span></div>`;
  const nav = frame.sections?.length
    ? html`<nav class="sections" aria-label="Sections">
        <ul>
          ${frame.sections.map((section) => html`<li><a href="#${section.id}">${section.label}</a></li>`)}
        </ul>
      </nav>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${frame.title}</title>
        <link rel="stylesheet" href="/admin/assets/admin.css" />
        <script src="/admin/assets/admin.js" defer></script>
      </head>
      <body data-refresh-seconds="${frame.refreshSeconds ?? 0}">
        <a class="skip" href="#content">Skip to content</a>
        <header class="top">
          <h1>Email Connector</h1>
          ${frame.session ? who : ''}
        </header>
        ${nav}
        <main id="content">${frame.body}</main>
      </body>
    </html>`.text;
}

/** A short page with one message: refusals, sign-in results. */
export function messagePage(title: string, message: string, link?: { href: string; label: string }): string {
  return page({
    title: `${title} · Email Connector`,
    session: null,
    body: html`<section>
      <h2>${title}</h2>
      <p>${message}</p>
      ${link ? html`<p><a class="button" href="${link.href}">${link.label}</a></p>` : ''}
    </section>`,
  });
}
