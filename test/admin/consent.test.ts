import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient, startConsoleApp, type ConsoleApp } from './console-app.ts';
import { OidcStandIn, unsignedJwt } from './oidc-stand-in.ts';

const graphTenant = '00000000-0000-0000-0000-000000000001';

describe('admin consent for the app registration', () => {
  let oidc: OidcStandIn;
  let app: ConsoleApp;
  // The Graph token as Entra ID would issue it after consent: its roles claim names the permissions.
  const graphToken = unsignedJwt({
    aud: 'https://graph.microsoft.com',
    tid: graphTenant,
    roles: ['Mail.Read', 'Mail.ReadWrite', 'Mail.Send'],
  });

  beforeAll(async () => {
    oidc = await OidcStandIn.start({ tenantId: graphTenant, clientId: 'unused', clientSecret: 'unused' });
    app = await startConsoleApp({
      graph: { standIn: { token: graphToken } },
      env: { ADMIN_AUTHORITY_HOST: oidc.authorityHost },
    });
  });
  afterAll(async () => {
    await app?.close();
    await oidc?.close();
  });

  it('links to admin consent and confirms the permissions the Graph token carries, never the token', async () => {
    const client = new CookieClient();
    const page = await client.request(`${app.baseUrl}/`);
    const link = /href="([^"]*\/adminconsent\?[^"]*)"/.exec(page.text)?.[1]?.replace(/&amp;/g, '&');
    expect(link).toBeDefined();
    const consent = new URL(link!);
    expect(consent.origin + consent.pathname).toBe(`${oidc.authorityHost}/${graphTenant}/adminconsent`);
    expect(consent.searchParams.get('client_id')).toBe('00000000-0000-0000-0000-000000000002');
    expect(consent.searchParams.get('redirect_uri')).toBe(`${app.baseUrl}/admin/consent/callback`);

    const answer = await client.follow(link!);
    expect(answer.url).toMatch(/\/admin\/consent\/callback\?admin_consent=True/);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('An administrator granted admin consent');
    for (const permission of ['Mail.Read', 'Mail.ReadWrite', 'Mail.Send'])
      expect(answer.text).toMatch(
        new RegExp(`<code>${permission}</code>[\\s\\S]*?<span class="ok">yes</span>`),
      );
    expect(answer.text).toContain('RBAC for Applications');
    expect(answer.text).toContain('email-connector doctor --other-mailbox');
    expect(answer.text).not.toContain(graphToken.split('.')[1]!);
    await client.close();
  });

  it('refuses a consent answer that was not started from this browser', async () => {
    const client = new CookieClient();
    await client.request(`${app.baseUrl}/`);
    const answer = await client.request(
      `${app.baseUrl}/admin/consent/callback?admin_consent=True&state=guessed`,
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('does not belong to a consent started from this console');
    await client.close();
  });
});
