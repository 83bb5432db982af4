import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient, startConsoleApp, type ConsoleApp } from './console-app.ts';
import { OidcStandIn, type StandInUser } from './oidc-stand-in.ts';

const tenantId = '11111111-2222-3333-4444-555555555555';
const clientId = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const clientSecret = 'admin-console-secret-value';
const sessionSecret = 'session-secret-of-at-least-32-characters!';

const member: StandInUser = {
  oid: 'oid-alice',
  name: 'Alice Admin',
  username: 'alice@msp.example',
  roles: ['EmailConnector.Admin'],
};
const groupMember: StandInUser = {
  oid: 'oid-gina',
  name: 'Gina Group',
  username: 'gina@msp.example',
  groups: ['9c3bd0a4-0000-4000-8000-00000000aaaa'],
};
const stranger: StandInUser = {
  oid: 'oid-bob',
  name: 'Bob Bystander',
  username: 'bob@msp.example',
  roles: ['Something.Else'],
};

describe('sign-in with Microsoft Entra ID (against a local OpenID Connect stand-in)', () => {
  let oidc: OidcStandIn;
  let console_: ConsoleApp;
  let trust: CookieClient;

  beforeAll(async () => {
    oidc = await OidcStandIn.start({ tenantId, clientId, clientSecret });
    trust = new CookieClient();
    console_ = await startConsoleApp({
      tls: true,
      env: {
        ADMIN_AUTH: 'entra',
        ADMIN_TENANT_ID: tenantId,
        ADMIN_CLIENT_ID: clientId,
        ADMIN_CLIENT_SECRET: clientSecret,
        ADMIN_ALLOWED_ROLE: 'EmailConnector.Admin',
        ADMIN_ALLOWED_GROUP: '9c3bd0a4-0000-4000-8000-00000000aaaa',
        ADMIN_AUTHORITY_HOST: oidc.authorityHost,
        SESSION_SECRET: sessionSecret,
      },
      admin: { entraFetch: trust.trustingFetch },
    });
  });

  afterAll(async () => {
    await console_?.close();
    await oidc?.close();
    await trust?.close();
  });

  /** A browser's round trip: the page, the sign-in redirect, the stand-in, the callback. */
  async function signIn(
    user: StandInUser,
  ): Promise<{ client: CookieClient; final: Awaited<ReturnType<CookieClient['follow']>> }> {
    oidc.signInAs(user);
    const client = new CookieClient();
    const final = await client.follow(`${console_.baseUrl}/`);
    return { client, final };
  }

  it('lets a member of the app role in, with a sealed, HttpOnly, Secure, SameSite=Lax session cookie', async () => {
    const { client, final } = await signIn(member);
    expect(final.status, final.text).toBe(200);
    expect(final.url).toBe(`${console_.baseUrl}/`);
    expect(final.text).toContain('Signed in as');
    expect(final.text).toContain('Alice Admin');
    const session = client.setCookieHeaders.find((line) => line.startsWith('__Host-ec-admin='));
    expect(session).toBeDefined();
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).toMatch(/; Max-Age=28800/);
    // Sealed: nothing of who signed in can be read from it.
    const value = client.cookies.get('__Host-ec-admin') ?? '';
    expect(Buffer.from(value, 'base64url').toString('latin1')).not.toContain('alice');
    // PKCE went all the way: the stand-in refuses a token request whose verifier does not match.
    expect(oidc.requests.some((request) => request.path.endsWith('/oauth2/v2.0/token'))).toBe(true);
    await client.close();
  });

  it('lets a member of the group in', async () => {
    const { client, final } = await signIn(groupMember);
    expect(final.status, final.text).toBe(200);
    expect(final.text).toContain('Gina Group');
    await client.close();
  });

  it('answers 403 to someone who is neither in the role nor the group, and gives no session', async () => {
    const { client, final } = await signIn(stranger);
    expect(final.status).toBe(403);
    expect(final.text).toContain('not a member of the app role');
    expect(client.cookies.has('__Host-ec-admin')).toBe(false);
    expect(console_.lines.join('\n')).toContain('admin sign-in refused');
    await client.close();
  });

  it('refuses a tampered session cookie', async () => {
    const { client } = await signIn(member);
    const value = client.cookies.get('__Host-ec-admin') ?? '';
    const flipped = `${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`;
    client.cookies.set('__Host-ec-admin', flipped);
    const answer = await client.request(`${console_.baseUrl}/`);
    expect(answer.status).toBe(401);
    expect(answer.text).toContain('Your session is not valid');
    expect(answer.text).not.toContain('Recent outcomes');
    await client.close();
  });

  it('refuses an ID token that the issuer did not sign', async () => {
    oidc.forgeSignatures = true;
    try {
      const { client, final } = await signIn(member);
      expect(final.status).toBe(403);
      expect(final.text).toContain('signature is not valid');
      expect(client.cookies.has('__Host-ec-admin')).toBe(false);
      await client.close();
    } finally {
      oidc.forgeSignatures = false;
    }
  });

  it('refuses a callback whose state does not belong to this browser', async () => {
    oidc.signInAs(member);
    const victim = new CookieClient();
    const start = await victim.request(`${console_.baseUrl}/auth/sign-in`);
    const authorize = await victim.request(start.location!);
    // Another browser (without the sign-in cookie) is handed the callback link.
    const attacker = new CookieClient();
    const answer = await attacker.request(authorize.location!);
    expect(answer.status).toBe(400);
    expect(attacker.cookies.has('__Host-ec-admin')).toBe(false);
    await victim.close();
    await attacker.close();
  });

  it('refuses a POST without the anti-forgery token, and one from another origin', async () => {
    const { client } = await signIn(member);
    const withoutToken = await client.request(`${console_.baseUrl}/admin/reprocess`, {
      method: 'POST',
      form: { all: '1' },
      headers: { origin: console_.baseUrl },
    });
    expect(withoutToken.status).toBe(403);
    const page = await client.request(`${console_.baseUrl}/`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    expect(csrf).not.toBe('');
    const foreign = await client.request(`${console_.baseUrl}/admin/reprocess`, {
      method: 'POST',
      form: { all: '1', _csrf: csrf },
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const genuine = await client.request(`${console_.baseUrl}/admin/reprocess`, {
      method: 'POST',
      form: { all: '1', _csrf: csrf },
      headers: { origin: console_.baseUrl },
    });
    expect(genuine.status).toBe(303);
    await client.close();
  });

  it('sends a visitor without a session to sign in, and never logs a token, code or secret', async () => {
    const client = new CookieClient();
    const answer = await client.request(`${console_.baseUrl}/?q=abc`);
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/auth/sign-in?returnTo=%2F%3Fq%3Dabc');
    await client.close();
    const log = console_.lines.join('\n');
    for (const secret of [clientSecret, sessionSecret]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(log).not.toMatch(/code=/);
  });
});
