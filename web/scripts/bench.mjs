#!/usr/bin/env node
// Measures the browser peer against its targets and prints a table:
//   size      wasm + glue, gzip -9 (target < 500 KB), and libsodium.js beside it
//   join      browser join-to-healthy on loopback, fresh identity per run (target < 1 s)
//   heap      JS heap of the browser node after GC, via CDP (target < 30 MB)
//   client    Node.js headless client join-to-healthy and put/get latency
//   webrtc    two pages: DataChannel open time (target < 1 s), and the ping
//             that opens it; needs a namespace with only lo, so run it as
//             root through scripts/netns-run.sh, else that row says skipped
// Needs web/dist built and the native binaries (see web/README.md).
// Usage: [web/scripts/netns-run.sh] node web/scripts/bench.mjs [--runs N]
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startServer } from './serve.mjs';
import { launchChromium, webrtcContext, webrtcUnavailable } from '../test/chromium.mjs';
import { startCluster, webDir } from '../test/helpers.mjs';
import { createNodeClient } from '../dist/node.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const rows = [];
const row = (what, value, target, ok) => rows.push({ what, value, target, verdict: ok === undefined ? '' : ok ? 'ok' : 'MISSED' });

// ---- size ----
const dist = path.join(webDir, 'dist');
const wasm = gz(path.join(dist, 'yz_core.wasm'));
const emGlue = gz(path.join(dist, 'yz_core.js'));
const browserModules = ['index.js', 'core.js', 'crypto.js', 'identity.js', 'transport.js', 'webrtc.js', 'yz-node.js'];
const tsGlue = browserModules.reduce((sum, f) => sum + gz(path.join(dist, f)), 0);
const sodium = gz(path.join(webDir, 'node_modules/libsodium/dist/modules-esm/libsodium.mjs')) +
  gz(path.join(webDir, 'node_modules/libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs'));
const ours = wasm + emGlue + tsGlue;
row('yz_core.wasm (gzip -9)', kb(wasm));
row('yz_core.js, Emscripten loader (gzip -9)', kb(emGlue));
row(`TypeScript glue, ${browserModules.length} modules (gzip -9)`, kb(tsGlue));
row('wasm + glue (gzip -9)', kb(ours), '< 500 KB', ours < 500 * 1024);
row('libsodium.js, Ed25519 (gzip -9)', kb(sodium));
row('everything a page loads (gzip -9)', kb(ours + sodium), '< 500 KB', ours + sodium < 500 * 1024);

// ---- network ----
const cluster = await startCluster({ nodes: 5 });
const server = await startServer();
const browser = await launchChromium();
try {
  const seed = cluster.byName.genesis.ws_url;
  const joins = [];
  const coreLoad = [];
  const totals = [];
  let wasmMemory = 0;
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/page/`);
    await page.waitForFunction(() => window.yzPage?.ready === true);
    const r = await page.evaluate(async (s) => {
      const t0 = performance.now();
      await window.yzPage.start({ seeds: [s], identity: 'ephemeral', logLevel: 'warn' });
      const node = window.yzPage.node();
      await node.waitHealthy(10_000);
      return { join: node.joinMs, load: node.coreLoadMs, total: performance.now() - t0, memory: node.coreMemoryBytes };
    }, seed);
    joins.push(r.join);
    coreLoad.push(r.load);
    totals.push(r.total);
    wasmMemory = r.memory;
    if (i === runs - 1) {
      for (let j = 0; j < 50; j++) await page.evaluate((k) => window.yzPage.node().put(k, 'v'.repeat(200)), `bench-${j}`);
      const cdp = await context.newCDPSession(page);
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = await cdp.send('Runtime.getHeapUsage');
      const mem = await page.evaluate(() => performance.memory ? performance.memory.usedJSHeapSize : -1);
      row('browser JS heap after 50 puts, CDP after GC', `${(heap.usedSize / 1048576).toFixed(2)} MB`, '< 30 MB',
        heap.usedSize < 30 * 1048576);
      if (mem > 0) row('  performance.memory.usedJSHeapSize', `${(mem / 1048576).toFixed(2)} MB`);
    }
    await page.evaluate(() => window.yzPage.stop());
    await context.close();
  }
  const j = stats(joins);
  const l = stats(coreLoad);
  row(`browser join-to-healthy, ${runs} fresh pages (median, min-max)`, `${j.median} ms (${j.min}-${j.max})`, '< 1000 ms', j.median < 1000);
  row('browser wasm core load+compile (median)', `${l.median.toFixed(1)} ms`);
  const tt = stats(totals);
  row('browser start() to healthy incl. wasm+libsodium load (median)', `${tt.median.toFixed(0)} ms (${tt.min.toFixed(0)}-${tt.max.toFixed(0)})`, '< 1000 ms', tt.median < 1000);
  row('wasm linear memory (outside the JS heap)', `${(wasmMemory / 1048576).toFixed(2)} MB`);

  // ---- WebRTC between two pages ----
  let why;
  try {
    why = webrtcUnavailable();
  } catch (err) {
    why = err.message;
  }
  if (why) {
    row('browser<->browser WebRTC DataChannel open', 'skipped', '< 1000 ms');
    console.warn(`bench: WebRTC rows skipped: ${why}`);
  } else {
    const opens = [];
    const connects = [];
    for (let i = 0; i < runs; i++) {
      const pair = [];
      for (let j = 0; j < 2; j++) {
        const context = await webrtcContext(browser, server.url);
        const page = await context.newPage();
        await page.goto(`${server.url}/page/?autolink=0`);
        await page.waitForFunction(() => window.yzPage?.ready === true);
        const id = await page.evaluate(async (s) => {
          // Room for a kept WebRTC link beside the servers (as in the browser tests).
          await window.yzPage.start({ seeds: [s], identity: 'ephemeral', logLevel: 'warn', extra: { engine: { minLinks: 3, maxLinks: 16 } } });
          await window.yzPage.node().waitHealthy(10_000);
          return window.yzPage.node().id;
        }, seed);
        pair.push({ context, page, id });
      }
      const r = await pair[0].page.evaluate(async (peer) => {
        const node = window.yzPage.node();
        const t0 = performance.now();
        await node.findNode(peer);
        const pong = await node.ping(peer);
        const total = performance.now() - t0;
        // The lookup's signed answers put the peer in the routing table; the
        // connection policy then dials it over WebRTC: wait for that link.
        let link;
        for (let waited = 0; waited < 5000 && !link; waited += 10) {
          link = node.peers().links.find((l) => l.peer === peer && l.ready);
          if (!link) await new Promise((r) => setTimeout(r, 10));
        }
        const linked = performance.now() - t0;
        return { ok: pong.ok, error: pong.error, total: linked, open: link?.channel?.open_ms ?? -1, transport: link?.transport ?? 'no link within 5 s' };
      }, pair[1].id);
      if (r.ok && r.transport === 'webrtc') {
        opens.push(r.open);
        connects.push(r.total);
      } else {
        console.warn(`bench: WebRTC run ${i} failed: ${r.error || r.transport}`);
      }
      for (const p of pair) {
        await p.page.evaluate(() => window.yzPage.stop());
        await p.context.close();
      }
    }
    if (opens.length > 0) {
      const o = stats(opens);
      const c = stats(connects);
      row(`browser<->browser WebRTC DataChannel open, offer to open (median, min-max, ${opens.length} pairs)`,
        `${o.median} ms (${o.min}-${o.max})`, '< 1000 ms', o.median < 1000);
      row('  findNode + ping of the other page until their WebRTC link is ready (median)',
        `${c.median.toFixed(0)} ms (${c.min.toFixed(0)}-${c.max.toFixed(0)})`);
    } else {
      row('browser<->browser WebRTC DataChannel open', 'FAILED', '< 1000 ms', false);
    }
  }

  const clientJoins = [];
  const putMs = [];
  const getMs = [];
  for (let i = 0; i < runs; i++) {
    const client = await createNodeClient({ seeds: [seed] });
    await client.waitHealthy(10_000);
    clientJoins.push(client.joinMs);
    let t = performance.now();
    await client.put(`client-bench-${i}`, 'value');
    putMs.push(performance.now() - t);
    t = performance.now();
    await client.get(`client-bench-${i}`);
    getMs.push(performance.now() - t);
    await client.stop();
  }
  const c = stats(clientJoins);
  row(`Node.js client join-to-healthy (median, min-max)`, `${c.median} ms (${c.min}-${c.max})`, '< 1000 ms', c.median < 1000);
  row('Node.js client put / get (median)', `${stats(putMs).median.toFixed(1)} ms / ${stats(getMs).median.toFixed(1)} ms`);
} finally {
  await browser.close();
  await server.close();
  cluster.down();
}

const w = [0, 0, 0];
for (const r of rows) {
  w[0] = Math.max(w[0], r.what.length);
  w[1] = Math.max(w[1], r.value.length);
  w[2] = Math.max(w[2], (r.target ?? '').length);
}
console.log(`yz-web bench (${new Date().toISOString()}, dist files: ${readdirSync(dist).length})`);
for (const r of rows) {
  console.log(`${r.what.padEnd(w[0])}  ${r.value.padStart(w[1])}  ${(r.target ?? '').padEnd(w[2])}  ${r.verdict}`);
}
