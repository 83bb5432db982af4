import type { OutcomeRecord } from '../../crm/crm-store.ts';
import { outcomeActions } from '../../observability/collect-metrics.ts';
import type { AdminSession } from './admin-session.ts';
import { html, type SafeHtml } from './html.ts';
import { page } from './layout.ts';
import { outcomeChart } from './outcome-chart.ts';
import type { StatusSnapshot } from './status-snapshot.ts';

export interface StatusPageOptions {
  session: AdminSession;
  refreshSeconds: number;
  /** Shown once after an action, e.g. "3 messages queued again". */
  notice: string | null;
  /** The Permissions section (consent), when Graph runs on an app registration or a managed identity. */
  permissions: SafeHtml | null;
}

const sections = [
  { id: 'intake', label: 'Intake' },
  { id: 'outcomes', label: 'Outcomes' },
  { id: 'quarantine', label: 'Quarantine' },
  { id: 'health', label: 'Health' },
  { id: 'settings', label: 'Settings' },
];

/** The status page: what an administrator keeps open. */
export function statusPage(snapshot: StatusSnapshot, options: StatusPageOptions): string {
  const body = html` ${banner(snapshot)}
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
    <div class="grid">${intakeSection(snapshot)} ${queueSection(snapshot)}</div>
    ${chartSection(snapshot)} ${outcomesSection(snapshot)} ${quarantineSection(snapshot, options.session)}
    ${healthSection(snapshot)} ${options.permissions ?? ''} ${settingsSection(snapshot)}`;
  return page({
    title: `${snapshot.health.ok ? '' : 'Intake broken · '}Email Connector status`,
    session: options.session,
    refreshSeconds: options.refreshSeconds,
    sections: options.permissions
      ? [...sections.slice(0, 4), { id: 'permissions', label: 'Permissions' }, sections[4]!]
      : sections,
    body,
  });
}

function banner(snapshot: StatusSnapshot): SafeHtml {
  const failing = Object.entries(snapshot.health.checks).filter(([, result]) => result !== 'ok');
  if (failing.length === 0 && snapshot.problems.length === 0) return html`<div id="banner" data-live></div>`;
  return html`<div id="banner" data-live>
    <div class="banner" role="alert">
      <h2>Mail intake is broken</h2>
      <ul>
        ${failing.map(([name, result]) => html`<li><strong>${name}</strong>: ${result}</li>`)}${snapshot.problems.map(
          (problem) => html`<li>${problem}</li>`,
        )}
      </ul>
      <p>
        New mail waits in the mailbox and is picked up once this is fixed; nothing is lost. Run
        <code>email-connector doctor</code> with the service's configuration to test each part, or see
        <code>GET /readyz</code>.
      </p>
    </div>
  </div>`;
}

function intakeSection(snapshot: StatusSnapshot): SafeHtml {
  if (!snapshot.graph) {
    return html`<section id="intake" data-live aria-labelledby="intake-title">
      <h2 id="intake-title">Intake</h2>
      <dl class="facts">
        <dt>Mailbox</dt>
        <dd>Local folder <code>${snapshot.mailboxDir}</code></dd>
        <dt>Inbox polled</dt>
        <dd>every ${formatDuration(snapshot.pollIntervalMs)}</dd>
      </dl>
    </section>`;
  }
  const { mailboxes, lastDeltaCompletedAt } = snapshot.graph;
  return html`<section id="intake" data-live aria-labelledby="intake-title">
    <h2 id="intake-title">Intake: Microsoft Graph</h2>
    ${mailboxes.map(
      (entry) =>
        html`<h3>${entry.mailbox}</h3>
          <dl class="facts">
            <dt>Subscription</dt>
            <dd>
              ${entry.subscriptionId ? html`<code title="${entry.subscriptionId}">${shortId(entry.subscriptionId)}</code>` : html`<span class="bad">none</span>`}
            </dd>
            <dt>Expires</dt>
            <dd>
              ${entry.subscriptionExpiresAt ? html`${formatTime(entry.subscriptionExpiresAt)} (<span data-countdown="${entry.subscriptionExpiresAt}">${timeLeft(entry.subscriptionExpiresAt, snapshot.at)}</span>)` : '—'}
            </dd>
            <dt>Last notification</dt>
            <dd>
              ${entry.lastNotificationAt ? ago(entry.lastNotificationAt, snapshot.at) : 'none since start'}
            </dd>
            <dt>Last delta catch-up</dt>
            <dd>
              ${entry.lastDeltaAt ? ago(entry.lastDeltaAt, snapshot.at) : lastDeltaCompletedAt ? ago(lastDeltaCompletedAt, snapshot.at) : 'none yet'}
            </dd>
            ${
              entry.lastError
                ? html`<dt>Last error</dt>
                    <dd class="bad">
                      ${entry.lastError.operation}: ${entry.lastError.message}
                      (${ago(entry.lastError.at, snapshot.at)})
                    </dd>`
                : ''
            }
          </dl>`,
    )}
  </section>`;
}

function queueSection(snapshot: StatusSnapshot): SafeHtml {
  const queue = snapshot.queue;
  const more = queue?.capped ? '+' : '';
  return html`<section id="queue" data-live aria-labelledby="queue-title">
    <h2 id="queue-title">Queue</h2>
    ${
      queue
        ? html`<dl class="facts">
            <dt>Waiting</dt>
            <dd>${queue.pending}${more}</dd>
            <dt>Being processed</dt>
            <dd>${queue.claimed}${more}</dd>
            <dt>Oldest item</dt>
            <dd>
              ${queue.oldestEnqueuedAt ? ago(queue.oldestEnqueuedAt, snapshot.at, 'waiting for') : 'queue is empty'}
            </dd>
            <dt>Quarantined</dt>
            <dd>
              ${queue.quarantined > 0 ? html`<a href="#quarantine">${queue.quarantined}${more}</a>` : '0'}
            </dd>
          </dl>`
        : html`<p class="bad">The queue cannot be read.</p>`
    }
  </section>`;
}

function chartSection(snapshot: StatusSnapshot): SafeHtml {
  const last = snapshot.last24h;
  return html`<section id="last-day" class="chart" data-live aria-labelledby="last-day-title">
    <h2 id="last-day-title">Last 24 hours</h2>
    ${
      last
        ? html`<p>
              ${last.total}${last.truncated ? '+' : ''} message${last.total === 1 ? '' : 's'} with an outcome.
            </p>
            ${outcomeChart(last.counts, outcomeActions)}`
        : html`<p class="bad">Outcomes cannot be read.</p>`
    }
  </section>`;
}

function outcomesSection(snapshot: StatusSnapshot): SafeHtml {
  const caption = snapshot.search
    ? html`Outcomes matching “${snapshot.search}”, newest first (${snapshot.recent.length} shown)`
    : html`The most recent outcomes, newest first`;
  return html`<section id="outcomes" aria-labelledby="outcomes-title">
    <h2 id="outcomes-title">Recent outcomes</h2>
    <form class="search" method="get" action="/#outcomes" role="search">
      <label for="q"
        >Search by sender, subject or ticket number
        <input id="q" name="q" type="search" value="${snapshot.search}" autocomplete="off"
      /></label>
      <button type="submit">Search</button>
      ${snapshot.search ? html`<a href="/#outcomes">Show all</a>` : ''}
    </form>
    <div id="outcome-list" data-live>
      ${
        snapshot.recent.length === 0
          ? html`<p>${snapshot.search ? 'No outcome matches.' : 'No message has been processed yet.'}</p>`
          : html`<table class="stack">
              <caption>
                ${caption}
              </caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Ticket</th>
                  <th scope="col">From</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                ${snapshot.recent.map((outcome) => outcomeRow(outcome))}
              </tbody>
            </table>`
      }
    </div>
  </section>`;
}

function outcomeRow(outcome: OutcomeRecord): SafeHtml {
  return html`<tr>
    <td data-label="When"><time datetime="${outcome.createdAt}">${formatTime(outcome.createdAt)}</time></td>
    <td data-label="Action"><span class="badge ${outcome.action}">${outcome.action}</span></td>
    <td data-label="Ticket">${outcome.ticketNumber ?? '—'}</td>
    <td data-label="From">${outcome.from ?? '—'}</td>
    <td data-label="Subject">${outcome.subject || '(no subject)'}</td>
    <td data-label="Reason" class="reason">
      ${outcome.reason}${outcome.flags.length ? html` <span class="muted">[${outcome.flags.join(', ')}]</span>` : ''}
    </td>
  </tr>`;
}

function quarantineSection(snapshot: StatusSnapshot, session: AdminSession): SafeHtml {
  const token = html`<input type="hidden" name="_csrf" value="${session.csrf}" />`;
  return html`<section id="quarantine" data-live aria-labelledby="quarantine-title">
    <h2 id="quarantine-title">Quarantine</h2>
    ${
      snapshot.quarantine.length === 0
        ? html`<p>Quarantine is empty.</p>`
        : html`<p>
              Messages that kept failing. Reprocessing queues them again; the running worker takes them at
              once.
            </p>
            <form method="post" action="/admin/reprocess">
              ${token}<input type="hidden" name="all" value="1" />
              <button type="submit">Reprocess all ${snapshot.quarantine.length}</button>
            </form>
            <table class="stack">
              <caption>
                Quarantined messages, oldest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Message</th>
                  <th scope="col">From</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                ${snapshot.quarantine.map(
                  ({ item, outcome }) =>
                    html`<tr>
                      <td data-label="Message"><code title="${item.mailboxId}">${shortId(item.id)}</code></td>
                      <td data-label="From">${outcome?.from ?? '—'}</td>
                      <td data-label="Subject">${outcome?.subject || '—'}</td>
                      <td data-label="Attempts">${item.attempts}</td>
                      <td data-label="Last error" class="reason">${item.lastError ?? '—'}</td>
                      <td data-label="Action">
                        <form class="inline" method="post" action="/admin/reprocess">
                          ${token}
                          <input type="hidden" name="id" value="${item.id}" />
                          <button
                            type="submit"
                            aria-label="Reprocess ${outcome?.subject || shortId(item.id)}"
                          >
                            Reprocess
                          </button>
                        </form>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
  </section>`;
}

function healthSection(snapshot: StatusSnapshot): SafeHtml {
  const counts = snapshot.store.counts;
  return html`<section id="health" data-live aria-labelledby="health-title">
    <h2 id="health-title">Store and mailbox health</h2>
    <dl class="facts">
      ${Object.entries(snapshot.health.checks).map(
        ([name, result]) =>
          html`<dt>${name}</dt>
            <dd>
              ${result === 'ok' ? html`<span class="ok">ok</span>` : html`<span class="bad">${result}</span>`}
            </dd>`,
      )}
      <dt>Mailbox</dt>
      <dd>${snapshot.mailboxName}</dd>
      <dt>Outbox</dt>
      <dd>
        ${snapshot.store.nextMailDueAt ? html`next mail due ${formatTime(snapshot.store.nextMailDueAt)}` : 'nothing waiting'}
      </dd>
      ${
        counts
          ? html`<dt>CRM records</dt>
              <dd>
                ${counts.accounts} accounts, ${counts.contacts} contacts, ${counts.employees} employees,
                ${counts.tickets} tickets, ${counts.documents} documents, ${counts.outcomes} outcomes
              </dd>`
          : ''
      }
    </dl>
    <p class="muted">Checked ${formatTime(snapshot.at.toISOString())}.</p>
  </section>`;
}

function settingsSection(snapshot: StatusSnapshot): SafeHtml {
  return html`<section id="settings" aria-labelledby="settings-title">
    <h2 id="settings-title">Settings in effect</h2>
    <p class="muted">Secrets are shown as [redacted].</p>
    <dl class="settings">
      ${snapshot.settings.map(
        ([name, value]) =>
          html`<div>
            <dt>${name}</dt>
            <dd>${value}</dd>
          </div>`,
      )}
    </dl>
  </section>`;
}

export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function ago(iso: string, at: Date, prefix = ''): string {
  const ms = at.getTime() - Date.parse(iso);
  const text = Number.isNaN(ms) ? iso : formatDuration(Math.max(0, ms));
  return prefix ? `${prefix} ${text}` : `${text} ago`;
}

function timeLeft(iso: string, at: Date): string {
  const ms = Date.parse(iso) - at.getTime();
  return ms <= 0 ? 'expired' : `${formatDuration(ms)} left`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
