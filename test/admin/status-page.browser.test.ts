import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TokenCredential } from '@azure/identity';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.ts';
import { waitFor } from '../helpers/run-node.ts';
import {
  launchBrowser,
  mailboxName,
  startConsoleApp,
  token,
  updateScreenshots,
  type ConsoleApp,
} from './console-app.ts';

/** What axe-core reports per rule, cut down to what a failure message needs. */
interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/** The identity endpoint as the app sees it: the stand-in's token until told to refuse. */
function switchableCredential(): TokenCredential & { refusing: boolean } {
  const credential = {
    refusing: false,
    async getToken() {
      if (credential.refusing)
        throw new Error(
          'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.',
        );
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

function newCustomerMail(subject: string, from = 'pat@acme.example'): string {
  return [
    `From: Pat Customer <${from}>`,
    `To: ${mailboxName}`,
    `Subject: ${subject}`,
    `Message-ID: <console-${Math.random().toString(36).slice(2)}@acme.example>`,
    'Date: Mon, 16 Nov 2026 09:01:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The scanner on floor 2 stopped working.',
    '',
  ].join('\r\n');
}

describe('the admin console in a browser (Microsoft Graph, local sign-in)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let console_: ConsoleApp;
  const credential = switchableCredential();

  beforeAll(async () => {
    browser = await launchBrowser();
    console_ = await startConsoleApp({
      graph: { overrides: { credential, healthCacheMs: 0 } },
      // One failed attempt quarantines: the quarantine test needs no waiting for retries.
      env: { MAX_ATTEMPTS: '1' },
      admin: { refreshSeconds: 1 },
    });
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await console_?.close();
  });

  /** Puts a mail in the stand-in's inbox, notifies, and waits for its outcome. */
  async function deliver(mime: string | Buffer): Promise<string> {
    const standIn = console_.standIn!;
    const id = standIn.addMessage(mailboxName, mime);
    await standIn.notify(mailboxName, [id]);
    await waitFor(async () => {
      const item = await console_.app.store.findIntake(id);
      return item && (item.state === 'done' || item.state === 'quarantined') ? item : null;
    }, 10_000);
    return id;
  }

  it('shows a processed mail among the recent outcomes, and finds it by sender, subject or ticket number', async () => {
    await deliver(newCustomerMail('Scanner on floor 2 is offline'));
    const [outcome] = await console_.app.store.listOutcomes({ limit: 1 });
    const response = await page.goto(`${console_.baseUrl}/`);
    expect(response?.status()).toBe(200);
    const row = page.locator('#outcome-list tr', { hasText: 'Scanner on floor 2 is offline' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('ticket-created');
    expect(await row.textContent()).toContain(outcome!.ticketNumber!);
    expect(await page.locator('#intake').textContent()).toMatch(/Last notification\s*\d+ s ago/);

    for (const query of ['pat@acme', 'floor 2', String(Number(outcome!.ticketNumber))]) {
      await page.fill('#q', query);
      await page.click('form.search button');
      await page.waitForURL(/\?q=/);
      expect(await page.locator('#outcome-list tr', { hasText: 'Scanner on floor 2' }).count(), query).toBe(
        1,
      );
    }
    await page.fill('#q', 'nobody-like-this');
    await page.click('form.search button');
    await page.waitForURL(/nobody-like-this/);
    expect(await page.locator('#outcome-list').textContent()).toContain('No outcome matches.');
  });

  it('reprocesses a quarantined message with its button, and then shows it processed', async () => {
    const standIn = console_.standIn!;
    standIn.injectFault({ method: 'GET', path: /\/\$value$/, status: 503, times: 1 });
    const id = await deliver(newCustomerMail('Laptop will not boot'));
    const item = await console_.app.store.findIntake(id);
    expect(item?.state).toBe('quarantined');

    await page.goto(`${console_.baseUrl}/`);
    // The message could not be fetched, so its row knows it by id only.
    const row = page.locator('#quarantine tr', { hasText: item!.id.slice(0, 8) });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: /Reprocess/ }).click();
    await page.waitForURL(/requeued=1/);
    expect(await page.locator('.notice').textContent()).toContain('1 message queued again');

    await waitFor(
      async () => ((await console_.app.store.findIntake(id))?.state === 'done' ? true : null),
      10_000,
    );
    await page.goto(`${console_.baseUrl}/`);
    expect(await page.locator('#quarantine').textContent()).toContain('Quarantine is empty.');
    const outcome = page.locator('#outcome-list tr', { hasText: 'Laptop will not boot' });
    await expect.poll(() => outcome.count()).toBe(1);
    expect(await outcome.textContent()).toContain('ticket-created');
  });

  it('refuses a reprocess POSTed without the anti-forgery token with 403', async () => {
    await page.goto(`${console_.baseUrl}/`);
    const answer = page.waitForResponse((response) => response.url().endsWith('/admin/reprocess'));
    // A same-origin form, as a forged page would post it: everything but the token.
    await page.evaluate(`(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/admin/reprocess';
      const all = document.createElement('input');
      all.type = 'hidden';
      all.name = 'all';
      all.value = '1';
      form.append(all);
      document.body.append(form);
      form.submit();
    })()`);
    expect((await answer).status()).toBe(403);
    await page.waitForLoadState();
    expect(await page.locator('h2').first().textContent()).toBe('Action refused');
  });

  it('shows a loud banner while the credential gets no token, and drops it once it recovers', async () => {
    await page.goto(`${console_.baseUrl}/`);
    expect(await page.locator('.banner').count()).toBe(0);
    credential.refusing = true;
    try {
      // The page refreshes its live sections by itself (every second here): no reload.
      const banner = page.locator('.banner[role=alert]');
      await banner.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await banner.textContent()).toMatch(/graph-credential[\s\S]*AADSTS7000215/);
      expect(await banner.textContent()).not.toContain('unused-secret-value');
    } finally {
      credential.refusing = false;
    }
    await page.locator('.banner').waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('passes an axe-core check (no serious or critical violation) on a desktop and a phone', async () => {
    // A page as an administrator sees it: several kinds of outcome and something in quarantine.
    await deliver(readFixture('reply-customer.eml'));
    await deliver(readFixture('unknown-sender.eml'));
    await deliver(readFixture('out-of-office-exchange.eml'));
    console_.standIn!.injectFault({ method: 'GET', path: /\/\$value$/, status: 503, times: 1 });
    await deliver(newCustomerMail('Shared drive is read-only', 'sam@globex.example'));

    const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    // axe is injected as a script: the page's own policy allows none but ours, so this context bypasses it.
    const checking = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true });
    try {
      for (const viewport of [
        { name: 'desktop', width: 1280, height: 900 },
        { name: 'phone', width: 390, height: 844 },
      ]) {
        const view = await checking.newPage();
        await view.setViewportSize({ width: viewport.width, height: viewport.height });
        await view.goto(`${console_.baseUrl}/`);
        await view.addScriptTag({ content: axeSource });
        const violations = await view.evaluate<AxeViolation[]>(`axe.run().then((result) =>
          result.violations.map((violation) => ({
            id: violation.id,
            impact: violation.impact,
            nodes: violation.nodes.map((node) => node.target.join(' ')),
          })))`);
        const serious = violations.filter(
          (violation) => violation.impact === 'serious' || violation.impact === 'critical',
        );
        expect(serious, `${viewport.name}: ${JSON.stringify(serious)}`).toEqual([]);
        if (updateScreenshots) {
          await view.screenshot({
            path: `docs/images/admin-console${viewport.name === 'phone' ? '-phone' : ''}.png`,
            fullPage: true,
          });
        }
        await view.close();
      }
    } finally {
      await checking.close();
    }
  });
});
