// Two WebAssembly nodes linked by an in-memory Transport: exercises the seam a
// WebRTC DataChannel transport will use (dial on one side, acceptLink on the
// other), the signed handshake with libsodium.js keys, events, and the API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { YzNode, Identity, loadSodiumCrypto } from '../dist/index.js';
import { eventually } from './helpers.mjs';

// Delivers frames asynchronously, in order, like a reliable DataChannel.
class MemoryTransport {
  name = 'memory';
  constructor(registry) {
    this.registry = registry; // address -> YzNode that accepts
  }
  canDial(address) {
    return address.startsWith('mem://');
  }
  dial(address, events) {
    const target = this.registry.get(address);
    let peerEvents = null;
    let closed = false;
    const deliver = (fn) => queueMicrotask(() => !closed && fn());
    const local = {
      send: (frame) => {
        const copy = frame.slice();
        deliver(() => peerEvents?.frame(copy));
      },
      close: (code, reason) => {
        if (closed) return;
        queueMicrotask(() => peerEvents?.closed(`peer closed: ${code} ${reason}`));
        closed = true;
      },
    };
    if (!target) {
      queueMicrotask(() => events.closed(`nothing at ${address}`));
      return local;
    }
    const remote = {
      send: (frame) => {
        const copy = frame.slice();
        deliver(() => events.frame(copy));
      },
      close: (code, reason) => {
        if (closed) return;
        closed = true;
        queueMicrotask(() => events.closed(`peer closed: ${code} ${reason}`));
      },
    };
    queueMicrotask(() => {
      peerEvents = target.acceptLink('memory peer', remote);
      events.open();
    });
    return local;
  }
}

test('two wasm nodes link over a pluggable transport and ping each other', async () => {
  const crypto = await loadSodiumCrypto();
  const registry = new Map();
  const transport = new MemoryTransport(registry);
  const b = new YzNode({ seeds: [], role: 'browser', transports: [transport], identity: Identity.generate(crypto) });
  await b.start();
  registry.set('mem://b', b);
  const a = new YzNode({ seeds: ['mem://b'], role: 'browser', transports: [transport] });
  const ups = [];
  a.on('link-up', (e) => ups.push(e));
  const health = [];
  a.on('health', (h) => health.push(h));
  await a.start();
  try {
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.notEqual(a.id, b.id);
    const linked = await eventually(() => ups.find((e) => e.peer === b.id), { timeoutMs: 5000 });
    assert.ok(linked, 'link-up for b');
    assert.equal(linked.role, 'browser');

    const pong = await a.ping(b.id);
    assert.equal(pong.ok, true, pong.error);

    // Values need a lookup, and the core keeps only dialable peers in its
    // routing table, so two browsers alone cannot store yet: the call still
    // completes, with a reason (browser<->browser storage comes with WebRTC).
    const put = await a.put('loop key', 'loop value');
    assert.equal(typeof put.ok, 'boolean');
    if (!put.ok) assert.ok(put.error.length > 0);
    assert.equal(a.keyId('loop key'), put.key);

    const peers = a.peers();
    assert.ok(peers.links.some((l) => l.peer === b.id && l.ready));
    assert.ok(health.length > 0, 'health events were emitted');
  } finally {
    const downs = [];
    b.on('link-down', (e) => downs.push(e));
    await a.stop();
    await eventually(() => downs.length > 0, { timeoutMs: 2000 });
    assert.equal(downs[0].peer, a.id);
    assert.match(downs[0].reason, /shutting down|4000/);
    await b.stop();
  }
  assert.equal(a.status().healthy, false);
  await assert.rejects(a.get('x'), /not running/);
});

test('a node refuses an invalid configuration with a sentence', async () => {
  const node = new YzNode({ seeds: [], role: 'client', transports: [], engine: { minLinks: 9, maxLinks: 2 } });
  await assert.rejects(node.start(), /min_links above max_links/);
});
