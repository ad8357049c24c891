// Browser to browser over WebRTC, in real headless Chromium against a real
// local yz network: two pages (separate browser contexts) join over
// WebSocket, find each other through the DHT, open a DataChannel directly
// (signaled through the overlay), carry DHT traffic over it, and keep working
// after yz-bootstrap is stopped. A hidden page keeps its links and pings
// faster; a crashed page is detected dead by its peer within the keep-alive
// timeout. Needs a network namespace with only `lo` (scripts/netns-run.sh,
// which `npm run test:browser` and test-all.sh use when root).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../scripts/serve.mjs';
import { launchChromium, webrtcContext, webrtcUnavailable } from './chromium.mjs';
import { eventually, httpJson, startCluster } from './helpers.mjs';

const skip = webrtcUnavailable();
if (skip) console.warn(`\n*** SKIPPING the Chromium WebRTC tests: ${skip} ***\n`);

let cluster;
let server;
let browser;
const errors = [];

before(async () => {
  if (skip) return;
  cluster = await startCluster({ nodes: 3, bridges: 1 });
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  cluster?.down();
});

// The connection policy aims at (min+max)/2 kept links and opens WebRTC links
// only as kept links: leave room beside the cluster's servers.
const engine = { minLinks: 3, maxLinks: 16 };

// A page in its own browser context, its node started and healthy.
async function openPeer(seed, extra = {}) {
  extra = { engine, ...extra };
  const context = await webrtcContext(browser, server.url);
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(`${server.url}/page/?autolink=0`);
  await page.waitForFunction(() => window.yzPage?.ready === true);
  const id = await page.evaluate(async ({ s, e }) => {
    window.rtcLog = [];
    window.allLog = [];
    const started = window.yzPage.start({ seeds: [s], identity: 'ephemeral', logLevel: 'warn', extra: e });
    window.yzPage.node().on('log', (l) => {
      window.allLog.push(`${Math.round(performance.now())} ${l.level}: ${l.text}`);
      if (/webrtc/i.test(l.text)) window.rtcLog.push(`${l.level}: ${l.text}`);
    });
    return started;
  }, { s: seed, e: { logLevel: 'debug', ...extra } });
  const healthy = await page.evaluate(() => window.yzPage.node().waitHealthy(10_000).then(() => ''))
    .catch(async (err) => `${err.message}\nnode log:\n${(await page.evaluate(() => window.allLog)).join('\n')}`);
  assert.equal(healthy, '', 'the page joined and became healthy');
  return { context, page, id };
}

// The ready link a page holds to `peer`, as peers() reports it (or null).
const linkTo = (page, peer) =>
  page.evaluate((p) => window.yzPage.node().peers().links.find((l) => l.peer === p && l.ready) ?? null, peer);

// Has `from` find `to` through the DHT and ping it: the ping travels routed,
// its signed answer puts `to` in the routing table, and the connection policy
// then links the two over WebRTC (signaled through the overlay).
async function connect(from, to) {
  const look = await from.page.evaluate((t) => window.yzPage.node().findNode(t), to.id);
  assert.equal(look.ok, true, look.error);
  const found = look.closest.find((c) => c.id === to.id);
  assert.ok(found, `the DHT lookup found the other page (${look.closest.length} contacts)`);
  assert.equal(found.role, 'browser');
  assert.deepEqual(found.addresses, [`webrtc:${to.id}`], 'a browser advertises only its webrtc: address');
  const pong = await from.page.evaluate((t) => window.yzPage.node().ping(t), to.id);
  assert.equal(pong.ok, true, pong.error);
  const a = await eventually(() => linkTo(from.page, to.id), { timeoutMs: 15_000 });
  const b = await eventually(() => linkTo(to.page, from.id), { timeoutMs: 5000 });
  if (!a || !b) {
    const logs = [];
    for (const p of [from, to]) logs.push(`${p.id.slice(0, 8)}:`, ...(await p.page.evaluate(() => window.rtcLog)));
    assert.fail(`no WebRTC link between the pages:\n${logs.join('\n')}`);
  }
  return { a, b, rtt: pong.rtt_ms };
}

test('two pages find each other through the DHT, link over a WebRTC DataChannel, and outlive the bootstrap server',
  { skip: skip ?? false, timeout: 120_000 }, async (t) => {
    const seed = cluster.byName.bootstrap.ws_url;
    const A = await openPeer(seed);
    const B = await openPeer(seed);
    try {
      assert.equal(await A.page.evaluate(() => window.yzPage.node().webrtc), true, 'WebRTC is on by default in a page');
      const { a, b } = await connect(A, B);
      for (const [side, link, peer] of [['A', a, B.id], ['B', b, A.id]]) {
        assert.ok(link, `${side} holds a ready link to the other page`);
        assert.equal(link.transport, 'webrtc', `${side}'s link type`);
        assert.equal(link.channel.transport, 'webrtc');
        assert.equal(link.channel.state, 'open', `${side}'s DataChannel readyState`);
        assert.equal(link.channel.connection, 'connected');
        assert.equal(link.address, `webrtc:${peer}`);
        assert.equal(link.role, 'browser');
      }
      assert.equal(a.channel.session, b.channel.session, 'one WebRTC session');
      assert.notEqual(a.channel.offerer, b.channel.offerer, 'one side offered, the other answered');
      t.diagnostic(`DataChannel open after ${a.channel.open_ms} ms (offerer side ${a.channel.offerer ? 'A' : 'B'}: ` +
        `${(a.channel.offerer ? a : b).channel.open_ms} ms)`);

      // DHT traffic over the channel: both sides' frame counters on this link grow.
      const pong = await B.page.evaluate((p) => window.yzPage.node().ping(p), A.id);
      assert.equal(pong.ok, true, pong.error);
      const look = await B.page.evaluate((p) => window.yzPage.node().findNode(p), A.id);
      assert.equal(look.ok, true, look.error);
      const [a2, b2] = [await linkTo(A.page, B.id), await linkTo(B.page, A.id)];
      assert.equal(a2.link, a.link, 'the same link');
      assert.ok(b2.out.messages >= b.out.messages + 2, `B sent on the link: ${b.out.messages} -> ${b2.out.messages}`);
      assert.ok(a2.in.messages >= a.in.messages + 2, `A received on the link: ${a.in.messages} -> ${a2.in.messages}`);
      assert.ok(a2.out.messages >= a.out.messages + 2, `A answered on the link: ${a.out.messages} -> ${a2.out.messages}`);
      t.diagnostic(`ping over the DataChannel: ${pong.rtt_ms} ms`);

      // The bootstrap server goes away; the pages keep their link and the DHT.
      process.kill(cluster.byName.bootstrap.pid, 'SIGTERM');
      const bootstrapGone = await eventually(async () => {
        const links = await A.page.evaluate(() => window.yzPage.node().peers().links);
        try {
          process.kill(cluster.byName.bootstrap.pid, 0);
          return false;
        } catch {
          return !links.some((l) => l.address === seed);
        }
      }, { timeoutMs: 10_000 });
      assert.ok(bootstrapGone, 'yz-bootstrap stopped and the page saw its link go');
      const key = `webrtc-pages-${Date.now()}`;
      const put = await A.page.evaluate((k) => window.yzPage.node().put(k, 'from page A'), key);
      assert.equal(put.ok, true, put.error);
      const got = await B.page.evaluate(async (k) => {
        const r = await window.yzPage.node().get(k);
        return { found: r.found, text: r.text, error: r.error };
      }, key);
      assert.equal(got.found, true, got.error);
      assert.equal(got.text, 'from page A');
      const pong2 = await A.page.evaluate((p) => window.yzPage.node().ping(p), B.id);
      assert.equal(pong2.ok, true, pong2.error);
      const [a3, b3] = [await linkTo(A.page, B.id), await linkTo(B.page, A.id)];
      assert.equal(a3?.link, a.link, "A's WebRTC link is still the same and up");
      assert.equal(b3?.link, b.link, "B's WebRTC link is still the same and up");
      assert.equal(a3.channel.state, 'open');
      assert.ok(a3.out.messages > a2.out.messages);
      const health = await A.page.evaluate(() => window.yzPage.node().status());
      assert.equal(health.healthy, true, health.reasons.join('; '));
    } finally {
      for (const p of [A, B]) await p.page.evaluate(() => window.yzPage.stop()).catch(() => {});
      await A.context.close();
      await B.context.close();
    }
    assert.deepEqual(errors, []);
  });

test('a hidden page keeps its links and pings faster; a crashed page is detected dead within the timeout',
  { skip: skip ?? false, timeout: 120_000 }, async (t) => {
    const seed = cluster.byName.genesis.ws_url;
    // Part 1: default keep-alive (25 s visible, 10 s hidden).
    const C = await openPeer(seed);
    const D = await openPeer(seed);
    try {
      const { a } = await connect(C, D);
      assert.equal(a.transport, 'webrtc');
      const before = await C.page.evaluate(() => {
        const n = window.yzPage.node();
        return { keepalive: n.status().keepalive, links: n.peers().links.filter((l) => l.ready).map((l) => l.link).sort() };
      });
      assert.equal(before.keepalive.interval_ms, 25_000);
      // The browser's own visibilitychange event, with the page reporting hidden.
      await C.page.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      const hidden = await C.page.evaluate(() => {
        const n = window.yzPage.node();
        return { hidden: n.hidden, keepalive: n.status().keepalive, running: n.running,
          links: n.peers().links.filter((l) => l.ready).map((l) => l.link).sort() };
      });
      assert.equal(hidden.hidden, true);
      assert.equal(hidden.running, true, 'a hidden page keeps its node');
      assert.equal(hidden.keepalive.interval_ms, 10_000, 'hidden: keep-alive every 10 s');
      assert.deepEqual(hidden.links, before.links, 'a hidden page keeps every link');
      const still = await linkTo(C.page, D.id);
      assert.equal(still?.channel.state, 'open', 'the WebRTC link stays open while hidden');
      const pong = await D.page.evaluate((p) => window.yzPage.node().ping(p), C.id);
      assert.equal(pong.ok, true, `the hidden page answers: ${pong.error}`);
    } finally {
      for (const p of [C, D]) await p.page.evaluate(() => window.yzPage.stop()).catch(() => {});
      await C.context.close();
      await D.context.close();
    }

    // Part 2: small keep-alive values; one page's renderer crashes.
    const keepAlive = { visibleIntervalMs: 500, timeoutMs: 2000 };
    const E = await openPeer(seed, { keepAlive });
    const F = await openPeer(seed, { keepAlive });
    try {
      const { a } = await connect(E, F);
      assert.equal(a.transport, 'webrtc');
      await E.page.evaluate((peer) => {
        window.downs = [];
        window.yzPage.node().on('link-down', (e) => {
          if (e.peer === peer) window.downs.push({ at: performance.now(), reason: e.reason, transport: e.transport });
        });
      }, F.id);
      const crashedAt = await E.page.evaluate(() => performance.now());
      const cdp = await F.context.newCDPSession(F.page);
      // The renderer dies; the CDP call never answers, so it is not awaited.
      cdp.send('Page.crash').catch(() => {});
      const down = await E.page
        .waitForFunction(() => window.downs[0] ?? null, null, { timeout: keepAlive.timeoutMs + 8000 })
        .then((h) => h.jsonValue());
      const ms = Math.round(down.at - crashedAt);
      t.diagnostic(`crash detected after ${ms} ms (keep-alive timeout ${keepAlive.timeoutMs} ms): ${down.reason}`);
      assert.equal(down.transport, 'webrtc');
      assert.equal(await linkTo(E.page, F.id), null, 'the dead link is gone');
      const status = await E.page.evaluate(() => window.yzPage.node().status());
      assert.equal(status.running ?? true, true);
    } finally {
      await E.page.evaluate(() => window.yzPage.stop()).catch(() => {});
      await E.context.close();
      await F.context.close().catch(() => {});
    }
    assert.deepEqual(errors.filter((e) => !/crash/i.test(e)), []);
  });

test('two pages that cannot link directly talk through a relay, then upgrade to a DataChannel without losing a message',
  { skip: skip ?? false, timeout: 120_000 }, async (t) => {
    const seed = cluster.byName.genesis.ws_url;
    // iceTransportPolicy 'relay' with no TURN server: no ICE candidate at all,
    // so every direct attempt fails as it would between two symmetric NATs.
    const noDirect = { rtcConfig: { iceTransportPolicy: 'relay' }, dialTimeoutMs: 1500 };
    // Relay upkeep (direct retries, draining the relayed link) runs with the
    // engine's maintenance: every second here, so the upgrade takes seconds.
    const options = { engine: { ...engine, directRetryIntervalMs: 2000, maintenanceIntervalMs: 1000 }, webrtc: noDirect };
    const G = await openPeer(seed, options);
    const H = await openPeer(seed, options);
    const servers = new Set();
    // The DHT servers (the bootstrap server relays no sessions, and test 1 stopped it).
    for (const n of cluster.nodes.filter((x) => x.name !== "bootstrap")) servers.add((await httpJson(`${n.url}/health`)).body.id);
    try {
      const look = await G.page.evaluate((p) => window.yzPage.node().findNode(p), H.id);
      assert.equal(look.ok, true, look.error);
      const pong = await G.page.evaluate((p) => window.yzPage.node().ping(p), H.id);
      assert.equal(pong.ok, true, pong.error);
      const [g, h] = [await eventually(() => linkTo(G.page, H.id), { timeoutMs: 15_000 }),
        await eventually(() => linkTo(H.page, G.id), { timeoutMs: 5000 })];
      const rtc = async () => [...(await G.page.evaluate(() => window.rtcLog)), ...(await H.page.evaluate(() => window.rtcLog))];
      if (!g || !h) {
        const tail = async (p) => (await p.page.evaluate(() => window.allLog)).slice(-60).join('\n');
        assert.fail(`no relayed link between the pages (G ${g ? 'has' : 'lacks'} one, H ${h ? 'has' : 'lacks'} one)\n` +
          `G ${G.id.slice(0, 8)}'s log:\n${await tail(G)}\nH ${H.id.slice(0, 8)}'s log:\n${await tail(H)}`);
      }
      for (const [side, link] of [['G', g], ['H', h]]) {
        assert.equal(link.transport, 'relay', `${side}'s link type`);
        assert.equal(link.relayed, true);
        assert.ok(servers.has(link.relay), `${side} relays through a cluster server: ${link.relay} not in ${[...servers]}`);
      }
      assert.equal(g.relay, h.relay, 'both ends use one relay session');
      const logs = await rtc();
      assert.ok(logs.some((l) => /failed .*trying a relay/.test(l)), `the failed direct attempt is logged:\n${logs.join('\n')}`);

      // DHT traffic through the relay.
      const key = `relay-pages-${Date.now()}`;
      const put = await G.page.evaluate((k) => window.yzPage.node().put(k, 'through the relay'), key);
      assert.equal(put.ok, true, put.error);
      const via = await H.page.evaluate((p) => window.yzPage.node().ping(p), G.id);
      assert.equal(via.ok, true, via.error);
      t.diagnostic(`ping through the relay: ${via.rtt_ms} ms`);
      // When both pages opened a relay session at once, the duplicate-link rule
      // may replace the link seen above by the other end's session (a new link
      // id): either way the traffic must have arrived on a relayed link.
      const g2 = await eventually(() => linkTo(G.page, H.id), { timeoutMs: 5000 });
      assert.ok(g2, 'G holds a link to H after the put');
      assert.equal(g2.transport, 'relay', "G's link type after the put");
      assert.ok(g2.in.messages > (g2.link === g.link ? g.in.messages : 0), 'G received on the relayed link');

      // H pings G back to back while the direct path becomes possible.
      await H.page.evaluate((p) => {
        window.pingLoop = { results: [], stop: false };
        (async () => {
          while (!window.pingLoop.stop) {
            window.pingLoop.results.push(await window.yzPage.node().ping(p));
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
      }, G.id);
      await eventually(() => H.page.evaluate(() => window.pingLoop.results.length >= 5), { timeoutMs: 10_000 });
      for (const p of [G, H]) await p.page.evaluate(() => window.yzPage.node().configureWebRtc({ rtcConfig: {} }));
      const direct = async (page, peer) => {
        const links = await page.evaluate((x) => window.yzPage.node().peers().links.filter((l) => l.peer === x), peer);
        return links.length === 1 && links[0].ready && links[0].transport === 'webrtc' ? links[0] : null;
      };
      const upgradeStart = Date.now();
      const gd = await eventually(() => direct(G.page, H.id), { timeoutMs: 30_000 });
      const hd = await eventually(() => direct(H.page, G.id), { timeoutMs: 5000 });
      if (!gd || !hd) {
        const state = async (p, peer) => JSON.stringify(await p.page.evaluate((x) => window.yzPage.node().peers().links
          .filter((l) => l.peer === x).map((l) => ({ transport: l.transport, ready: l.ready, kept: l.kept })), peer));
        const tail = (await G.page.evaluate(() => window.allLog)).slice(-40).join('\n');
        assert.fail(`the pages did not upgrade to one direct link: G ${await state(G, H.id)}, H ${await state(H, G.id)}\n` +
          `${(await rtc()).join('\n')}\nG's log:\n${tail}`);
      }
      assert.equal(gd.channel.state, 'open');
      t.diagnostic(`relayed link replaced by the DataChannel ${Date.now() - upgradeStart} ms after direct paths were allowed`);
      await eventually(() => H.page.evaluate((n) => window.pingLoop.results.length >= n + 5, 0), { timeoutMs: 5000 });
      const results = await H.page.evaluate(() => {
        window.pingLoop.stop = true;
        return window.pingLoop.results.map((r) => ({ ok: r.ok, error: r.error }));
      });
      const failed = results.filter((r) => !r.ok);
      t.diagnostic(`${results.length} pings during the upgrade, ${failed.length} failed`);
      assert.deepEqual(failed, [], 'no ping was lost while the path moved from the relay to the DataChannel');
      const hd2 = await direct(H.page, G.id);
      assert.ok(hd2 && hd2.out.messages > 0, 'pings went over the DataChannel after the upgrade');

      const got = await H.page.evaluate(async (k) => {
        const r = await window.yzPage.node().get(k);
        return { found: r.found, text: r.text, error: r.error };
      }, key);
      assert.equal(got.found, true, got.error);
      assert.equal(got.text, 'through the relay');
    } finally {
      for (const p of [G, H]) await p.page.evaluate(() => window.yzPage.stop()).catch(() => {});
      await G.context.close();
      await H.context.close();
    }
    assert.deepEqual(errors.filter((e) => !/crash/i.test(e)), []);
  });
