import type { OutcomeAction } from '../../domain/decision.ts';
import { html, type SafeHtml } from './html.ts';

/** Bar colours with at least 3:1 contrast against white (WCAG 1.4.11). */
const colours: Record<OutcomeAction, string> = {
  'ticket-created': '#1e7b3a',
  filed: '#1f5fa8',
  forwarded: '#a35f00',
  ignored: '#5f6773',
  failed: '#b3261e',
  api: '#6d3fb0',
};

/** A horizontal bar per outcome action, drawn inline (no script, no image request); its label says the figures. */
export function outcomeChart(
  counts: ReadonlyMap<OutcomeAction, number>,
  actions: readonly OutcomeAction[],
): SafeHtml {
  const rowHeight = 28;
  const labelWidth = 140;
  const barSpace = 300;
  const width = labelWidth + barSpace + 60;
  const height = actions.length * rowHeight + 4;
  const max = Math.max(1, ...actions.map((action) => counts.get(action) ?? 0));
  const summary = actions.map((action) => `${action} ${counts.get(action) ?? 0}`).join(', ');
  const rows = actions.map((action, index) => {
    const count = counts.get(action) ?? 0;
    const y = index * rowHeight + 2;
    const bar = count === 0 ? 0 : Math.max(2, Math.round((count / max) * barSpace));
    return html`<g>
      <text x="0" y="${y + 18}">${action}</text>
      <rect
        x="${labelWidth}"
        y="${y + 4}"
        width="${bar}"
        height="${rowHeight - 10}"
        rx="2"
        fill="${colours[action]}"
      ></rect>
      <text x="${labelWidth + bar + 6}" y="${y + 18}">${count}</text>
    </g>`;
  });
  return html`<svg
    viewBox="0 0 ${width} ${height}"
    role="img"
    aria-label="Outcomes of the last 24 hours by action: ${summary}"
    xmlns="http://www.w3.org/2000/svg"
  >
    ${rows}
  </svg>`;
}
