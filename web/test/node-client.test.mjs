// The Node.js headless client (WebAssembly core + `ws`) against a real local
// yz network started with `yz cluster up`: join, store a value a C++ node
// reads over its HTTP API, read a value a C++ node stored, the yz-client CLI,
// plain-words dial failures, and a clean goodbye.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { createNodeClient } from '../dist/node.js';
import { eventually, httpJson, spawnNode, startCluster } from './helpers.mjs';

let cluster;
before(async () => {
  cluster = await startCluster({ nodes: 5 });
});
after(() => cluster?.down());

test('a client joins through the genesis node and becomes healthy', async () => {
  const ups = [];
  const client = await createNodeClient({ seeds: [cluster.byName.genesis.ws_url] });
  client.on('link-up', (e) => ups.push(e));
  try {
    const status = await client.waitHealthy(10_000);
    assert.equal(status.healthy, true, status.reasons.join('; '));
    assert.equal(status.role, 'client');
    assert.ok(status.links >= 3, `kept links: ${status.links}`);
    assert.ok(client.joinMs >= 0 && client.joinMs < 5000, `join took ${client.joinMs} ms`);
    assert.ok(ups.length >= 1 || client.peers().links.filter((l) => l.ready).length >= 3);
    const peers = client.peers();
    assert.ok(peers.routing_table.length >= 5, `routing table: ${peers.routing_table.length}`);
    assert.ok(peers.links.every((l) => l.role !== 'client'));
  } finally {
    await client.stop();
  }
});

test('a value stored by the wasm client is read by a C++ node over HTTP', async () => {
  const client = await createNodeClient({ seeds: [cluster.byName.bootstrap.ws_url] });
  try {
    await client.waitHealthy(10_000);
    const key = `web-put-${Date.now()}`;
    const value = 'stored from WebAssembly \u2713';
    const put = await client.put(key, value);
    assert.equal(put.ok, true, put.error);
    assert.ok(put.replicas_acked >= 1, JSON.stringify(put));
    for (const name of ['node3', 'bridge1']) {
      const { status, body } = await httpJson(`${cluster.byName[name].url}/values/${encodeURIComponent(key)}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.found, true, `${name}: ${body.error}`);
      assert.equal(body.value, value);
      assert.equal(body.key, put.key);
    }
  } finally {
    await client.stop();
  }
});

test('a value stored by a C++ node is read by the wasm client', async () => {
  const key = `cpp-put-${Date.now()}`;
  const value = Buffer.from([0, 1, 2, 250, 251, 252, 0x68, 0x69]); // binary, not UTF-8
  const { status, body } = await httpJson(`${cluster.byName.node5.url}/values/${encodeURIComponent(key)}`, {
    method: 'PUT',
    body: value,
  });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.ok, true, body.error);
  const client = await createNodeClient({ seeds: [cluster.byName.node1.ws_url] });
  try {
    await client.waitHealthy(10_000);
    const got = await client.get(key);
    assert.equal(got.ok, true, got.error);
    assert.equal(got.found, true, got.error);
    assert.deepEqual(Buffer.from(got.value), value);
    assert.equal(got.text, null, 'binary values are not text');
    assert.equal(got.seq, body.seq);
    const missing = await client.get(`absent-${Date.now()}`);
    assert.equal(missing.ok, true);
    assert.equal(missing.found, false);
    assert.match(missing.error, /no value/);

    const look = await client.findNode(got.key);
    assert.equal(look.ok, true, look.error);
    assert.ok(look.closest.length >= 5);
    assert.ok(look.closest.every((c) => c.role !== 'client'), 'a client is not a DHT member');
  } finally {
    await client.stop();
  }
});

test('the yz-client CLI stores and reads values', async () => {
  const seed = cluster.byName.genesis.ws_url;
  const key = `cli-${Date.now()}`;
  const put = await spawnNode(['bin/yz-client.mjs', 'put', seed, key, 'via the CLI']);
  assert.equal(put.code, 0, put.stderr + put.stdout);
  assert.match(put.stdout, /stored .* on \d+\/\d+ replicas/);
  const got = await spawnNode(['bin/yz-client.mjs', 'get', cluster.byName.bridge2.ws_url, key]);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout.trim(), 'via the CLI');
  const json = await spawnNode(['bin/yz-client.mjs', '--json', 'get', seed, key]);
  assert.equal(JSON.parse(json.stdout).value, 'via the CLI');
  const missing = await spawnNode(['bin/yz-client.mjs', 'get', seed, `${key}-absent`]);
  assert.equal(missing.code, 1);
  const usage = await spawnNode(['bin/yz-client.mjs', 'put', seed]);
  assert.equal(usage.code, 2);
});

test('a seed that answers HTTP 200 instead of a WebSocket upgrade is named in plain words', async () => {
  const server = http.createServer((_, res) => res.end('not a yz node'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${server.address().port}/ws`;
  const client = await createNodeClient({ seeds: [url], logLevel: 'silent' });
  try {
    const refusal = await eventually(() => client.status().refusals.find((r) => r.peer === url), { timeoutMs: 5000 });
    assert.ok(refusal, 'the failed seed is listed among the refusals');
    assert.match(refusal.reason, /HTTP 200 instead of 101/);
    assert.equal(client.status().healthy, false);
    assert.ok(client.status().reasons.length > 0);
  } finally {
    await client.stop();
    server.close();
  }
});

test('stopping the client says goodbye: the server drops its link at once', async () => {
  const genesis = cluster.byName.genesis;
  const client = await createNodeClient({ seeds: [genesis.ws_url], engine: { minLinks: 1, maxLinks: 2 } });
  await client.waitHealthy(10_000);
  const id = client.id;
  const linked = await httpJson(`${genesis.url}/peers`);
  assert.ok(linked.body.links.some((l) => l.peer === id && l.role === 'client'), 'genesis holds the client link');
  await client.stop();
  const gone = await eventually(async () => {
    const { body } = await httpJson(`${genesis.url}/peers`);
    return !body.links.some((l) => l.peer === id);
  }, { timeoutMs: 3000 });
  assert.ok(gone, 'the client link is gone from the genesis node');
  const health = await httpJson(`${genesis.url}/health`);
  assert.ok(!health.body.refusals.some((r) => r.peer.includes(id.slice(0, 8))), 'a goodbye is not a refusal');
});

test('an idle client keeps its links alive with keep-alive pings', async () => {
  const client = await createNodeClient({
    seeds: [cluster.byName.genesis.ws_url],
    keepAlive: { visibleIntervalMs: 500, timeoutMs: 1500 },
  });
  const downs = [];
  client.on('link-down', (e) => downs.push(`${e.address}: ${e.reason}`));
  try {
    await client.waitHealthy(10_000);
    const kept = () => new Map(client.peers().links.filter((l) => l.kept).map((l) => [l.link, l.out.messages]));
    const before = kept();
    await new Promise((r) => setTimeout(r, 3000)); // six keep-alive intervals, two timeouts
    const after = kept();
    assert.deepEqual(downs, [], 'no link died');
    for (const [link, sent] of before) {
      assert.ok(after.has(link), `link ${link} is still kept`);
      assert.ok(after.get(link) >= sent + 3, `link ${link} was pinged (${sent} -> ${after.get(link)} frames out)`);
    }
    assert.deepEqual(client.status().keepalive, { interval_ms: 500, timeout_ms: 1500 });
  } finally {
    await client.stop();
  }
});

test('two Node.js peers with WebRTC (node-datachannel) find each other through the DHT and link directly', async (t) => {
  const options = {
    seeds: [cluster.byName.genesis.ws_url],
    role: 'browser', // a DHT member reached over WebRTC, like a page
    webrtc: { rtcConfig: { bindAddress: '127.0.0.1' } },
    // The connection policy aims at (min+max)/2 kept links and opens WebRTC
    // links only as kept links: leave room beside the 8 servers.
    engine: { minLinks: 3, maxLinks: 16 },
    logLevel: 'silent',
  };
  const a = await createNodeClient(options);
  const b = await createNodeClient(options);
  const logs = [];
  for (const [name, n] of [['a', a], ['b', b]]) n.on('log', (l) => logs.push(`${name} ${l.level}: ${l.text}`));
  const webrtcLog = () => logs.filter((l) => /webrtc/i.test(l)).join('\n');
  try {
    assert.equal(a.webrtc, true);
    await a.waitHealthy(10_000);
    await b.waitHealthy(10_000);
    const look = await a.findNode(b.id);
    assert.equal(look.ok, true, look.error);
    const found = look.closest.find((c) => c.id === b.id);
    assert.ok(found, 'the lookup found the other peer');
    assert.ok(found.addresses.includes(`webrtc:${b.id}`), found.addresses.join(', '));
    // The ping travels routed; its answer puts b in a's routing table, and the
    // connection policy then links them over WebRTC.
    const pong = await a.ping(b.id);
    assert.equal(pong.ok, true, pong.error);
    const la = await eventually(() => a.peers().links.find((l) => l.peer === b.id && l.ready), { timeoutMs: 10_000 });
    const lb = await eventually(() => b.peers().links.find((l) => l.peer === a.id && l.ready), { timeoutMs: 5000 });
    for (const [side, link] of [['a', la], ['b', lb]]) {
      assert.ok(link, `${side} holds a ready link to the other:\n${webrtcLog()}`);
      assert.equal(link.transport, 'webrtc');
      assert.equal(link.channel.state, 'open');
    }
    assert.equal(la.channel.session, lb.channel.session);
    t.diagnostic(`node-datachannel DataChannel open after ${la.channel.open_ms} ms, ping ${pong.rtt_ms} ms`);
    const again = await b.ping(a.id);
    assert.equal(again.ok, true, again.error);
    assert.ok(b.peers().links.find((l) => l.link === lb.link).out.messages > lb.out.messages);
  } finally {
    await a.stop();
    await b.stop();
  }
});

// Last: it kills a node of the shared cluster.
test('a server that dies is reported as link-down with the reason in plain words', async (t) => {
  const victim = cluster.byName.node5;
  const client = await createNodeClient({ seeds: [victim.ws_url] });
  const downs = [];
  client.on('link-down', (e) => downs.push(e));
  try {
    await client.waitHealthy(10_000);
    assert.ok(client.peers().links.some((l) => l.address === victim.ws_url && l.ready));
    process.kill(victim.pid, 'SIGKILL');
    const down = await eventually(() => downs.find((e) => e.address === victim.ws_url), { timeoutMs: 5000 });
    assert.ok(down, 'link-down for the killed node');
    t.diagnostic(`link-down reason: ${down.reason}`);
    assert.match(down.reason, /lost without a WebSocket close/);
  } finally {
    await client.stop();
  }
});
