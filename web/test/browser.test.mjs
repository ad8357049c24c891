// The browser peer in real headless Chromium (Debian's chromium driven by
// playwright-core) against a real local yz network: the page loads the wasm
// core and libsodium.js, joins over WebSocket, stores a value a C++ node reads
// over HTTP, reads a value a C++ node stored, keeps its identity per origin in
// IndexedDB, gives a second tab its own identity, follows tab visibility, and
// says goodbye on stop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../scripts/serve.mjs';
import { launchChromium } from './chromium.mjs';
import { eventually, httpJson, startCluster } from './helpers.mjs';

let cluster;
let server;
let browser;
let context;
const pageErrors = [];

before(async () => {
  cluster = await startCluster({ nodes: 5 });
  server = await startServer();
  browser = await launchChromium();
  context = await browser.newContext();
});
after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  cluster?.down();
});

async function openPage() {
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) pageErrors.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  await page.goto(`${server.url}/page/?autolink=0`);
  await page.waitForFunction(() => window.yzPage?.ready === true);
  return page;
}

test('a browser page joins, stores a value C++ reads, and reads a value C++ stored', async (t) => {
  const page = await openPage();
  const seed = cluster.byName.genesis.ws_url;
  const id = await page.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'origin' }), seed);
  assert.match(id, /^[0-9a-f]{64}$/);
  const joined = await page.evaluate(async () => {
    const node = window.yzPage.node();
    const status = await node.waitHealthy(10_000);
    return { status, joinMs: node.joinMs, coreLoadMs: node.coreLoadMs, source: node.identity.source };
  });
  t.diagnostic(`join-to-healthy ${joined.joinMs} ms, wasm core load ${joined.coreLoadMs.toFixed(1)} ms`);
  assert.equal(joined.status.healthy, true, joined.status.reasons.join('; '));
  assert.equal(joined.status.role, 'browser');
  assert.match(joined.source, /origin identity/);
  assert.ok(joined.joinMs < 5000, `join took ${joined.joinMs} ms`);

  // The C++ side sees a browser link.
  const peers = await httpJson(`${cluster.byName.genesis.url}/peers`);
  assert.ok(peers.body.links.some((l) => l.peer === id && l.role === 'browser'), 'genesis holds the browser link');

  // Browser -> C++.
  const key = `browser-put-${Date.now()}`;
  const put = await page.evaluate((k) => window.yzPage.node().put(k, 'from Chromium \u2713'), key);
  assert.equal(put.ok, true, put.error);
  const read = await httpJson(`${cluster.byName.node4.url}/values/${encodeURIComponent(key)}`);
  assert.equal(read.body.found, true, read.body.error);
  assert.equal(read.body.value, 'from Chromium \u2713');

  // C++ -> browser.
  const key2 = `cpp-put-${Date.now()}`;
  const stored = await httpJson(`${cluster.byName.bridge1.url}/values/${encodeURIComponent(key2)}`, {
    method: 'PUT',
    body: 'from a C++ node',
  });
  assert.equal(stored.body.ok, true, stored.body.error);
  const got = await page.evaluate(async (k) => {
    const r = await window.yzPage.node().get(k);
    return { found: r.found, text: r.text, error: r.error, bytes: r.value ? r.value.length : -1 };
  }, key2);
  assert.equal(got.found, true, got.error);
  assert.equal(got.text, 'from a C++ node');
  assert.equal(got.bytes, 'from a C++ node'.length);

  const look = await page.evaluate((target) => window.yzPage.node().findNode(target), put.key);
  assert.equal(look.ok, true, look.error);
  assert.ok(look.closest.length >= 5);

  // Events reached the page.
  const events = await page.evaluate(() => window.yzPage.events());
  assert.ok(events.some((e) => e.includes('link-up')), events.join('\n'));
  assert.ok(events.some((e) => / healthy$/.test(e)), events.join('\n'));

  // Identity persists per origin: a reload gets the same id back.
  await page.reload();
  await page.waitForFunction(() => window.yzPage?.ready === true);
  const again = await page.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'origin' }), seed);
  assert.equal(again, id, 'the origin identity survives a reload');

  // A second tab of the same origin must not run the same identity.
  const second = await openPage();
  const other = await second.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'origin' }), seed);
  assert.notEqual(other, id);
  const otherSource = await second.evaluate(() => window.yzPage.node().identity.source);
  assert.match(otherSource, /another tab/);
  const otherHealthy = await second.evaluate(() => window.yzPage.node().waitHealthy(10_000).then((s) => s.healthy));
  assert.equal(otherHealthy, true);
  await second.evaluate(() => window.yzPage.stop());
  await second.close();

  // Stopping says goodbye: the server drops the link at once.
  await page.evaluate(() => window.yzPage.stop());
  const gone = await eventually(async () => {
    const { body } = await httpJson(`${cluster.byName.genesis.url}/peers`);
    return !body.links.some((l) => l.peer === id);
  }, { timeoutMs: 3000 });
  assert.ok(gone, 'the browser link is gone from the genesis node');
  await page.close();
  assert.deepEqual(pageErrors, []);
});

test('a per-tab identity survives reloads of that tab only; visibility switches keep-alive', async () => {
  const page = await openPage();
  const seed = cluster.byName.bootstrap.ws_url;
  const first = await page.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'tab' }), seed);
  await page.evaluate(() => window.yzPage.node().waitHealthy(10_000));
  const keepalive = await page.evaluate(() => {
    const node = window.yzPage.node();
    const before = node.status().keepalive.interval_ms;
    node.setHidden(true);
    const hidden = node.status().keepalive.interval_ms;
    node.setHidden(false);
    return { before, hidden, after: node.status().keepalive.interval_ms };
  });
  assert.deepEqual(keepalive, { before: 25000, hidden: 10000, after: 25000 });
  await page.evaluate(() => window.yzPage.stop());
  await page.reload();
  await page.waitForFunction(() => window.yzPage?.ready === true);
  const again = await page.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'tab' }), seed);
  assert.equal(again, first, 'same tab, same identity');
  await page.evaluate(() => window.yzPage.stop());
  const other = await openPage();
  const third = await other.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'tab' }), seed);
  assert.notEqual(third, first, 'another tab, another identity');
  await other.evaluate(() => window.yzPage.stop());
  await other.close();
  await page.close();
  assert.deepEqual(pageErrors, []);
});

test('a browser node stays within its memory budget', async (t) => {
  const page = await openPage();
  await page.evaluate((s) => window.yzPage.start({ seeds: [s], identity: 'ephemeral' }), cluster.byName.genesis.ws_url);
  await page.evaluate(() => window.yzPage.node().waitHealthy(10_000));
  for (let i = 0; i < 20; i++) {
    const r = await page.evaluate((k) => window.yzPage.node().put(k, 'x'.repeat(1000)), `mem-${i}`);
    assert.equal(r.ok, true, r.error);
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const mb = heap.usedSize / (1024 * 1024);
  t.diagnostic(`JS heap used ${mb.toFixed(2)} MB (total ${(heap.totalSize / 1048576).toFixed(2)} MB)`);
  assert.ok(mb < 30, `JS heap ${mb.toFixed(1)} MB`);
  await page.evaluate(() => window.yzPage.stop());
  await page.close();
});
