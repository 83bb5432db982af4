import type { TokenCredential } from '@azure/identity';
import type { Config } from '../../config/config.ts';
import type { AdminSession } from './admin-session.ts';
import { defaultAuthorityHost } from './entra-sign-in.ts';
import { html, type SafeHtml } from './html.ts';
import { decodeJwtPayload } from './id-token.ts';
import { page } from './layout.ts';

/** The application permissions the connector uses, and what for (docs/graph.md). */
export const requiredPermissions: readonly { name: string; use: string }[] = [
  { name: 'Mail.Read', use: 'subscriptions and fetching messages' },
  { name: 'Mail.ReadWrite', use: 'moving messages to Processed and Failed' },
  { name: 'Mail.Send', use: 'acknowledgments, forwards and XML API responses' },
];

export const consentCallbackPath = '/admin/consent/callback';

/** The app-only scope the Graph adapter asks for: its token's roles are the application permissions. */
const graphScope = 'https://graph.microsoft.com/.default';

/** Whether Graph runs on an app registration, the only mode an admin-consent link applies to. */
export function usesAppRegistration(config: Config): boolean {
  return !!config.SUPPORT_MAILBOX && config.GRAPH_AUTH !== 'managed-identity';
}

/** Entra ID's admin-consent address for the connector's app registration; `state` comes back to the callback. */
export function adminConsentLink(config: Config, state: string): string | null {
  if (
    !usesAppRegistration(config) ||
    !config.GRAPH_TENANT_ID ||
    !config.GRAPH_CLIENT_ID ||
    !config.PUBLIC_BASE_URL
  )
    return null;
  const host = config.ADMIN_AUTHORITY_HOST ?? defaultAuthorityHost;
  const url = new URL(`${host}/${encodeURIComponent(config.GRAPH_TENANT_ID)}/adminconsent`);
  url.searchParams.set('client_id', config.GRAPH_CLIENT_ID);
  url.searchParams.set('redirect_uri', `${config.PUBLIC_BASE_URL}${consentCallbackPath}`);
  url.searchParams.set('state', state);
  return url.toString();
}

/** The Permissions section of the status page; null on the local folder. */
export function permissionsSection(config: Config, consentState: string): SafeHtml | null {
  if (!config.SUPPORT_MAILBOX) return null;
  const link = adminConsentLink(config, consentState);
  return html`<section id="permissions" aria-labelledby="permissions-title">
    <h2 id="permissions-title">Permissions</h2>
    ${
      link
        ? html`<p>
              Graph access uses the app registration <code>${config.GRAPH_CLIENT_ID}</code>. For a quick
              trial, a Global Administrator can grant its permissions tenant-wide; in production scope them to
              the support mailbox instead (docs/graph.md).
            </p>
            <p><a class="button" href="${link}">Grant admin consent in Entra ID</a></p>`
        : html`<p>
            Graph access uses the managed identity: permissions are granted, scoped to the support mailbox, by
            <code>infra/grant-graph-permissions.ps1</code>; there is no consent step.
          </p>`
    }
    <p><a href="/admin/permissions">Show the permissions the connector's Graph token carries</a></p>
  </section>`;
}

export interface TokenPermissions {
  /** The application permissions (`roles`) of a fresh token; null when none could be read. */
  roles: string[] | null;
  problem: string | null;
}

/** Gets a fresh Graph token and reads its `roles` claim. The token itself goes nowhere. */
export async function readTokenPermissions(
  newCredential: (() => TokenCredential) | null,
): Promise<TokenPermissions> {
  if (!newCredential)
    return { roles: null, problem: 'Microsoft Graph is not configured (SUPPORT_MAILBOX is empty)' };
  try {
    const credential = newCredential();
    const token = await credential.getToken(graphScope, { abortSignal: AbortSignal.timeout(10_000) });
    if (!token) return { roles: null, problem: 'the credential returned no token' };
    const payload = decodeJwtPayload(token.token);
    if (!payload)
      return { roles: null, problem: 'the token is not a JWT, so its permissions cannot be read' };
    const roles = Array.isArray(payload.roles)
      ? payload.roles.filter((role) => typeof role === 'string')
      : [];
    return { roles: roles as string[], problem: null };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split(/\r?\n/, 1)[0] ?? '';
    return { roles: null, problem: `no token for Microsoft Graph: ${message.slice(0, 240)}` };
  }
}

export interface ConsentResult {
  granted: boolean;
  message: string;
}

/** The consent callback's query, read: Entra ID answers `admin_consent=True` or an error. */
export function readConsentAnswer(query: Record<string, unknown>): ConsentResult {
  if (typeof query.error === 'string') {
    const description = typeof query.error_description === 'string' ? query.error_description : '';
    return {
      granted: false,
      message:
        `Consent was not given: ${query.error}. ${(description.split(/\r?\n/, 1)[0] ?? '').slice(0, 200)}`.trim(),
    };
  }
  const tenant = typeof query.tenant === 'string' ? ` for tenant ${query.tenant}` : '';
  if (String(query.admin_consent).toLowerCase() === 'true')
    return { granted: true, message: `An administrator granted admin consent${tenant}.` };
  return { granted: false, message: 'Entra ID returned without saying whether consent was given.' };
}

/** What the token carries against what the connector needs, and what to do next. */
export function permissionsPage(
  session: AdminSession,
  permissions: TokenPermissions,
  consent: ConsentResult | null,
): string {
  const roles = new Set(permissions.roles ?? []);
  const held = requiredPermissions.filter((permission) => roles.has(permission.name));
  const body = html` ${consent ? html`<p class="${consent.granted ? 'notice' : 'banner'}" role="status">${consent.message}</p>` : ''}
    <section aria-labelledby="granted-title">
      <h2 id="granted-title">Permissions in the connector's Graph token</h2>
      ${
        permissions.problem
          ? html`<p class="bad">${permissions.problem}</p>`
          : html`<table>
                <caption>
                  Application permissions the token carries (its roles claim), read just now
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Permission</th>
                    <th scope="col">Used for</th>
                    <th scope="col">In the token</th>
                  </tr>
                </thead>
                <tbody>
                  ${requiredPermissions.map(
                    (permission) =>
                      html`<tr>
                        <td><code>${permission.name}</code></td>
                        <td>${permission.use}</td>
                        <td>
                          ${roles.has(permission.name) ? html`<span class="ok">yes</span>` : html`<span>no</span>`}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              ${
                [...roles].filter(
                  (role) => !requiredPermissions.some((permission) => permission.name === role),
                ).length
                  ? html`<p>
                      Other permissions in the token:
                      ${[...roles].filter((role) => !requiredPermissions.some((permission) => permission.name === role)).join(', ')}.
                      The connector does not need them: remove them.
                    </p>`
                  : ''
              }`
      }
    </section>
    <section aria-labelledby="next-title">
      <h2 id="next-title">What to do next</h2>
      ${
        held.length > 0
          ? html`<p>
              <strong>These permissions are tenant-wide:</strong> the connector can now read and send as every
              mailbox of the tenant. That is fine for a trial. For production, restrict it to the support
              mailbox with Exchange Online <em>RBAC for Applications</em>: run
              <code>infra/grant-graph-permissions.ps1</code> (docs/graph.md, step 3a), then remove these
              permissions and their consent (Entra ID → Enterprise applications → the app → Permissions). The
              scope has no effect while a tenant-wide grant remains.
            </p>`
          : html`<p>
              No <code>Mail.*</code> permission is in the token. That is what the scoped setup looks like:
              Exchange's role assignments (RBAC for Applications) are not part of the token. If you just
              granted consent, Entra ID can take a few minutes to include it: reload this page.
            </p>`
      }
      <p>
        Then run <code>email-connector doctor --other-mailbox &lt;another mailbox&gt;</code>: it checks the
        token, the support mailbox, the send permission, and that another mailbox is out of reach.
      </p>
      <p><a href="/">Back to the status page</a></p>
    </section>`;
  return page({ title: 'Permissions · Email Connector', session, body });
}
