// The demo page: one YzNode in this tab, with its health, links, events and a
// put/get form. Tests drive it through window.yzPage.
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

function render() {
  if (!node) return;
  const s = node.status();
  $('health').textContent = s.healthy ? `healthy: ${s.links} links, ${s.routing_table_size} known peers`
    : `not healthy: ${s.reasons.join('; ')}`;
  $('health').className = s.healthy ? 'ok' : 'bad';
  const rows = node.peers().links.map((l) =>
    `<tr><td>${l.link}</td><td><code>${l.peer.slice(0, 16)}</code></td><td>${l.role}</td><td>${l.kept ? 'yes' : ''}</td>` +
    `<td>${l.address}</td><td>${l.in.messages}</td><td>${l.out.messages}</td></tr>`);
  $('links').tBodies[0].innerHTML = rows.join('');
}

async function start(options = {}) {
  if (node) await stop();
  const seeds = options.seeds ?? $('seeds').value.split(/[\s,]+/).filter(Boolean);
  node = new YzNode({ seeds, identity: options.identity ?? $('scope').value, logLevel: options.logLevel ?? 'info', ...options.extra });
  node.on('link-up', (e) => logEvent(`link-up ${e.peer.slice(0, 8)} ${e.role} ${e.address}`));
  node.on('link-down', (e) => logEvent(`link-down ${e.peer.slice(0, 8)} ${e.role}: ${e.reason}`));
  node.on('health', (h) => logEvent(h.healthy ? 'healthy' : `not healthy: ${h.reasons.join('; ')}`));
  node.on('log', (l) => l.level !== 'debug' && logEvent(`${l.level}: ${l.text}`));
  await node.start();
  $('id').textContent = `${node.id} (${node.identity.source})`;
  $('start').disabled = true;
  for (const b of ['stop', 'put', 'get']) $(b).disabled = false;
  refresh = setInterval(render, 1000);
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
if (params.get('autostart') === '1') start();
