// The demo page: one YzNode in this tab, with its health, links (WebSocket or
// WebRTC, with the DataChannel state), events and a put/get form. With "link to
// browsers" on, it dials (over WebRTC) the browser peers its DHT lookups found,
// so a second tab of this page links to the first directly. Tests drive it
// through window.yzPage.
import { YzNode } from '/dist/index.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('seeds').value = params.get('seed') ?? params.get('seeds') ?? '';
if (params.get('identity')) $('scope').value = params.get('identity');

let node = null;
let refresh = null;
const events = [];

function logEvent(text) {
  const line = `${new Date().toISOString().slice(11, 23)} ${text}`;
  events.push(line);
  if (events.length > 200) events.shift();
  $('events').textContent = events.slice(-60).join('\n');
}

const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function channelText(l) {
  const c = l.channel;
  if (!c) return '';
  if (c.transport !== 'webrtc') return c.state;
  return `${c.state}, ${c.offerer ? 'offered' : 'answered'}${c.open_ms >= 0 ? `, open in ${c.open_ms} ms` : ''}`;
}

function render() {
  if (!node) return;
  const s = node.status();
  $('health').textContent = s.healthy ? `healthy: ${s.links} links, ${s.routing_table_size} known peers`
    : `not healthy: ${s.reasons.join('; ')}`;
  $('health').className = s.healthy ? 'ok' : 'bad';
  const peers = node.peers();
  const rows = peers.links.map((l) =>
    `<tr class="${l.transport}"><td>${l.link}</td><td><code>${esc(l.peer.slice(0, 16))}</code></td><td>${esc(l.role)}</td>` +
    `<td>${esc(l.transport)}</td><td>${esc(channelText(l))}</td><td>${l.kept ? 'yes' : ''}</td>` +
    `<td>${esc(l.address.startsWith('webrtc:') ? 'webrtc:' + l.address.slice(7, 15) + '…' : l.address)}</td>` +
    `<td>${l.in.messages}</td><td>${l.out.messages}</td></tr>`);
  $('links').tBodies[0].innerHTML = rows.join('');
  const browsers = peers.routing_table.filter((e) => e.role === 'browser');
  $('browsers').textContent = browsers.length === 0 ? 'none known yet'
    : browsers.map((e) => `${e.id.slice(0, 16)} ${peers.links.some((l) => l.peer === e.id && l.ready) ? '(linked)' : ''}`).join('\n');
}

// Dials the browser peers the DHT told us about (a ping opens the WebRTC link).
const dialling = new Set();
async function linkBrowsers() {
  if (!node?.running || !$('autolink').checked || !node.webrtc) return;
  const { links, routing_table: table } = node.peers();
  for (const e of table) {
    if (e.role !== 'browser' || dialling.has(e.id) || links.some((l) => l.peer === e.id)) continue;
    dialling.add(e.id);
    node.ping(e.id).then((r) => {
      dialling.delete(e.id);
      if (!r.ok) logEvent(`could not reach browser ${e.id.slice(0, 8)}: ${r.error}`);
    });
  }
}

async function start(options = {}) {
  if (node) await stop();
  const seeds = options.seeds ?? $('seeds').value.split(/[\s,]+/).filter(Boolean);
  if (options.autolink !== undefined) $('autolink').checked = options.autolink;
  node = new YzNode({ seeds, identity: options.identity ?? $('scope').value, logLevel: options.logLevel ?? 'info', ...options.extra });
  node.on('link-up', (e) => logEvent(`link-up ${e.peer.slice(0, 8)} ${e.role} over ${e.transport} ${e.address.slice(0, 40)}`));
  node.on('link-down', (e) => logEvent(`link-down ${e.peer.slice(0, 8)} ${e.role} over ${e.transport}: ${e.reason}`));
  node.on('health', (h) => logEvent(h.healthy ? 'healthy' : `not healthy: ${h.reasons.join('; ')}`));
  node.on('log', (l) => l.level !== 'debug' && logEvent(`${l.level}: ${l.text}`));
  await node.start();
  $('id').textContent = `${node.id} (${node.identity.source}; WebRTC ${node.webrtc ? 'on' : 'off'})`;
  $('start').disabled = true;
  for (const b of ['stop', 'put', 'get']) $(b).disabled = false;
  refresh = setInterval(() => {
    render();
    linkBrowsers();
  }, 1000);
  render();
  return node.id;
}

async function stop() {
  if (!node) return;
  clearInterval(refresh);
  await node.stop();
  render();
  node = null;
  $('start').disabled = false;
  for (const b of ['stop', 'put', 'get']) $(b).disabled = true;
}

$('start').onclick = () => start().catch((e) => logEvent(`start failed: ${e.message}`));
$('stop').onclick = () => stop();
$('put').onclick = async () => {
  const r = await node.put($('key').value, $('value').value);
  $('result').textContent = JSON.stringify(r, null, 2);
};
$('get').onclick = async () => {
  const r = await node.get($('key').value);
  $('result').textContent = JSON.stringify({ ...r, value: undefined }, null, 2);
};

// The test and benchmark hooks.
window.yzPage = {
  start,
  stop,
  node: () => node,
  events: () => events.slice(),
  ready: true,
};
if (params.get('autolink') === '0') $('autolink').checked = false;
if (params.get('autostart') === '1') start().catch((e) => logEvent(`start failed: ${e.message}`));
