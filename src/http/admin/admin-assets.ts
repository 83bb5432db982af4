/**
 * The console's stylesheet and script, served by us (no CDN) from /admin/assets/: the Content-Security-Policy
 * then allows only our own origin, with no inline code at all.
 */
export const adminStylesheet = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #4d5561; --line: #d0d5dc; --bg: #f5f6f8; --card: #fff;
  --accent: #0b5cad; --bad: #a4111a; --bad-bg: #fde8e9; --ok: #136c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; background: #16202c; color: #fff; }
header.top h1 { font-size: 1.25rem; margin: 0; }
header.top a { color: #cfe3ff; }
header.top .who { display: flex; gap: .75rem; align-items: center; font-size: .95rem; }
nav.sections ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: .5rem 1rem;
  background: #e8ebef; border-bottom: 1px solid var(--line); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem;
  margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
h3 { font-size: 1rem; margin: .5rem 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; margin: 0 0 1rem; }
.grid > section { margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.banner { border: 2px solid var(--bad); background: var(--bad-bg); color: #5c0a0f; border-radius: 8px;
  padding: 1rem; margin: 0 0 1rem; }
.banner h2 { color: var(--bad); font-size: 1.3rem; }
.banner ul { margin: .25rem 0 .5rem; padding-left: 1.25rem; }
.notice { border: 1px solid #7cb38a; background: #e7f5ea; border-radius: 8px; padding: .75rem 1rem; margin: 0 0 1rem; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Consolas, monospace; font-size: .9em; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
th { background: #eef1f4; }
td.reason { color: var(--muted); max-width: 28rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: .85rem; font-weight: 600;
  white-space: nowrap; }
.badge.ticket-created { background: #dcf1e2; color: #0f5323; }
.badge.filed { background: #dde9f8; color: #0b3f78; }
.badge.forwarded { background: #fbedd0; color: #6b4300; }
.badge.ignored { background: #e7e9ec; color: #333a44; }
.badge.failed { background: #fbdcdf; color: #8a0e16; }
.badge.api { background: #ece2f7; color: #4b1f7a; }
form.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .75rem; }
form.search label { display: flex; flex-direction: column; font-weight: 600; flex: 1 1 16rem; }
input[type=search] { font: inherit; padding: .4rem .5rem; border: 1px solid #7a828d; border-radius: 4px; }
button, .button { font: inherit; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); }
form.inline { display: inline; margin: 0; }
.chart svg { width: 100%; height: auto; max-width: 40rem; }
.chart text { font: 15px system-ui, sans-serif; fill: #1b1f24; }
.settings { columns: 2 22rem; }
.settings div { break-inside: avoid; padding: .15rem 0; border-bottom: 1px solid #eceef1; }
.settings dt { font-family: ui-monospace, monospace; font-size: .85rem; color: var(--muted); }
.settings dd { margin: 0 0 .1rem; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: .5rem; }
  section { padding: .75rem; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.stack tr { display: block; border-bottom: 2px solid var(--line); padding: .25rem 0; }
  table.stack td { display: grid; grid-template-columns: 7rem 1fr; gap: .5rem; border: 0; padding: .15rem .25rem; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-weight: 600; }
  td.reason { max-width: none; }
  table.stack .badge { justify-self: start; }
}
`;

export const adminScript = `
(function () {
  'use strict';
  var body = document.body;
  var every = Number(body.getAttribute('data-refresh-seconds')) || 0;
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function left(ms) {
    if (ms <= 0) return 'expired';
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
      m = Math.floor(s % 3600 / 60);
    return (d > 0 ? d + ' d ' : '') + h + ' h ' + pad(m) + ' min ' + pad(s % 60) + ' s left';
  }
  function tick() {
    var items = document.querySelectorAll('[data-countdown]');
    for (var i = 0; i < items.length; i++) {
      items[i].textContent = left(Date.parse(items[i].getAttribute('data-countdown')) - Date.now());
    }
  }
  function busy() {
    var active = document.activeElement;
    return document.hidden || (active && active.closest && active.closest('form'));
  }
  function refresh() {
    if (busy()) return;
    fetch(location.href, { headers: { 'X-Refresh': '1' }, credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (!text) return;
        var next = new DOMParser().parseFromString(text, 'text/html');
        var live = document.querySelectorAll('[data-live]');
        for (var i = 0; i < live.length; i++) {
          var fresh = next.getElementById(live[i].id);
          if (fresh) live[i].replaceWith(document.importNode(fresh, true));
        }
        tick();
      })
      .catch(function () {});
  }
  tick();
  setInterval(tick, 1000);
  if (every > 0) setInterval(refresh, every * 1000);
})();
`;
