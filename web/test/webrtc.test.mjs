// WebRtcTransport between real WebRTC peers in Node.js (node-datachannel's
// RTCPeerConnection on 127.0.0.1), signaling through an in-process hub that
// stands in for the overlay: dial/accept, frames both ways, simultaneous dials
// converging on one channel (perfect negotiation), a dial attaching to an
// incoming session, candidates overtaking their offer, and every failure named
// in plain words (no answer, refused, signaling failed, cap, text message).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { WebRtcTransport } from '../dist/webrtc.js';
import { eventually } from './helpers.mjs';

const rtc = { createPeerConnection: (c) => new RTCPeerConnection(c), rtcConfig: { bindAddress: '127.0.0.1' } };
const newId = () => randomBytes(32).toString('hex');

// Records what a transport reports for one link.
function recorder() {
  const r = { opened: 0, frames: [], closed: null, violation: null, tooLarge: [] };
  r.events = {
    open: () => r.opened++,
    frame: (d) => r.frames.push(Buffer.from(d).toString()),
    tooLarge: (n) => r.tooLarge.push(n),
    violation: (code, reason) => (r.violation = { code, reason }),
    closed: (reason) => (r.closed = reason),
  };
  return r;
}

// The overlay stand-in: delivers signals asynchronously between transports.
class Hub {
  peers = new Map(); // id -> { transport, accepted: [] }
  sent = [];
  // (from, to, wire) -> false to drop, a number to delay (ms), or undefined.
  rule = () => undefined;
  failWith = null;
  add(id, options = {}) {
    const transport = new WebRtcTransport({ ...rtc, ...options });
    const entry = { id, transport, accepted: [], logs: [] };
    transport.attach({
      localId: id,
      sendSignal: async (to, data) => {
        if (this.failWith) return { ok: false, error: this.failWith, path: '' };
        const wire = JSON.parse(data);
        this.sent.push({ from: id, to, t: wire.t });
        const r = this.rule(id, to, wire);
        if (r !== false) setTimeout(() => this.peers.get(to)?.transport.signal(id, data), typeof r === 'number' ? r : 0);
        return { ok: true, error: '', path: 'link' };
      },
      acceptLink: (remote, link, kind) => {
        const rec = recorder();
        entry.accepted.push({ remote, link, kind, rec });
        return rec.events;
      },
      log: (level, text) => entry.logs.push(`${level}: ${text}`),
    });
    this.peers.set(id, entry);
    return entry;
  }
  stop() {
    for (const p of this.peers.values()) p.transport.detach('test over');
  }
}

test('a dial opens a DataChannel; the peer accepts it; frames flow both ways; close reaches the peer', async () => {
  const hub = new Hub();
  const a = hub.add(newId());
  const b = hub.add(newId());
  try {
    assert.equal(a.transport.canDial(`webrtc:${b.id}`), true);
    assert.equal(a.transport.canDial('ws://127.0.0.1:1/'), false);
    assert.equal(a.transport.canDial(`webrtc:${b.id.toUpperCase()}`), false);
    const ra = recorder();
    const link = a.transport.dial(`webrtc:${b.id}`, ra.events);
    assert.ok(await eventually(() => ra.opened === 1 && b.accepted.length === 1, { timeoutMs: 10_000 }), ra.closed ?? 'no open');
    const acc = b.accepted[0];
    assert.equal(acc.remote, `webrtc:${a.id}`);
    assert.equal(acc.kind, 'webrtc');
    assert.equal(link.info().transport, 'webrtc');
    assert.equal(link.info().state, 'open');
    assert.equal(acc.link.info().state, 'open');
    assert.equal(link.info().offerer, true);
    assert.equal(acc.link.info().offerer, false);
    assert.ok(link.info().open_ms >= 0);

    link.send(new TextEncoder().encode('hello b'));
    acc.link.send(new TextEncoder().encode('hello a'));
    const big = new Uint8Array(131072).fill(7);
    link.send(big);
    assert.ok(await eventually(() => acc.rec.frames.length === 2 && ra.frames.length === 1, { timeoutMs: 5000 }));
    assert.equal(acc.rec.frames[0], 'hello b');
    assert.equal(acc.rec.frames[1].length, 131072);
    assert.deepEqual(ra.frames, ['hello a']);

    // The last frame before close still arrives (a Goodbye), then the peer sees the close.
    link.send(new TextEncoder().encode('goodbye'));
    link.close(4000, 'done');
    await link.finished;
    assert.ok(await eventually(() => acc.rec.closed, { timeoutMs: 5000 }), 'the peer saw the close');
    assert.equal(acc.rec.frames[2], 'goodbye');
    assert.match(acc.rec.closed, /closed by the peer/);
    assert.equal(ra.closed, null, 'no event after the engine closed the link itself');
    assert.equal(a.transport.sessionCount, 0);
    assert.ok(await eventually(() => b.transport.sessionCount === 0));
  } finally {
    hub.stop();
  }
});

test('simultaneous dials converge on one channel: the lower id offers, the higher id yields', async () => {
  const hub = new Hub();
  const [lo, hi] = [newId(), newId()].sort();
  const a = hub.add(lo);
  const b = hub.add(hi);
  try {
    const ra = recorder();
    const rb = recorder();
    const la = a.transport.dial(`webrtc:${hi}`, ra.events);
    const lb = b.transport.dial(`webrtc:${lo}`, rb.events);
    assert.ok(await eventually(() => ra.opened === 1 && rb.opened === 1, { timeoutMs: 10_000 }), `${ra.closed} / ${rb.closed}`);
    assert.equal(a.accepted.length + b.accepted.length, 0, 'both dials open; nothing accepted');
    assert.equal(la.info().offerer, true, 'the lower id is impolite: its offer wins');
    assert.equal(lb.info().offerer, false);
    assert.equal(la.info().polite, false);
    assert.equal(lb.info().polite, true);
    assert.equal(la.info().session, lb.info().session, 'one session');
    assert.equal(hub.sent.filter((m) => m.t === 'offer').length, 2, 'both offered');
    la.send(new TextEncoder().encode('x'));
    lb.send(new TextEncoder().encode('y'));
    assert.ok(await eventually(() => ra.frames.length === 1 && rb.frames.length === 1));
    assert.ok(b.logs.some((l) => /offers collided; this side \(higher id\) answers/.test(l)), b.logs.join('\n'));
    assert.ok(a.logs.some((l) => /offers collided; this side \(lower id\) keeps its own/.test(l)), a.logs.join('\n'));
  } finally {
    hub.stop();
  }
});

test("a dial for a peer whose offer is being answered rides on that session; candidates may overtake the offer", async () => {
  const hub = new Hub();
  const a = hub.add(newId());
  const b = hub.add(newId());
  let rb;
  let lb;
  // Offers travel slowly, candidates overtake them; b dials a as a's offer lands.
  let offerDelivered = false;
  let iceAhead = 0;
  hub.rule = (from, to, wire) => {
    if (wire.t === 'ice' && from === a.id && !offerDelivered) iceAhead++;
    if (wire.t !== 'offer') return undefined;
    setTimeout(() => {
      offerDelivered = true;
      b.transport.signal(from, JSON.stringify(wire));
      setTimeout(() => {
        rb = recorder();
        lb = b.transport.dial(`webrtc:${a.id}`, rb.events);
      }, 1);
    }, 80);
    return false;
  };
  try {
    const ra = recorder();
    a.transport.dial(`webrtc:${b.id}`, ra.events);
    assert.ok(await eventually(() => ra.opened === 1 && rb?.opened === 1, { timeoutMs: 10_000 }), `${ra.closed} / ${rb?.closed}`);
    assert.equal(b.accepted.length, 0, "b's dial took the channel; nothing accepted");
    assert.equal(lb.info().offerer, false);
    assert.ok(b.logs.some((l) => /dial attached to the incoming session/.test(l)), b.logs.join('\n'));
    assert.ok(iceAhead >= 1, 'candidates reached b before the offer did');
  } finally {
    hub.stop();
  }
});

test('failures are named in plain words: no answer, signaling failed, refused, session cap', async () => {
  const hub = new Hub();
  const a = hub.add(newId(), { dialTimeoutMs: 400 });
  const b = hub.add(newId(), { maxSessions: 1 });
  const silent = newId(); // nobody answers for this id
  try {
    const r1 = recorder();
    a.transport.dial(`webrtc:${silent}`, r1.events);
    assert.ok(await eventually(() => r1.closed, { timeoutMs: 5000 }));
    assert.match(r1.closed, /no answer to the offer within 0\.4 s: the peer did not respond to signaling/);

    hub.failWith = 'no route to the peer: its routing table has no entry';
    const r2 = recorder();
    a.transport.dial(`webrtc:${b.id}`, r2.events);
    assert.ok(await eventually(() => r2.closed, { timeoutMs: 5000 }));
    assert.match(r2.closed, /signaling failed: no route to the peer/);
    hub.failWith = null;

    // b is at its cap (one pending session of its own): it refuses a's offer at once.
    const rb = recorder();
    b.transport.dial(`webrtc:${silent}`, rb.events);
    const r3 = recorder();
    a.transport.dial(`webrtc:${b.id}`, r3.events);
    assert.ok(await eventually(() => r3.closed, { timeoutMs: 5000 }));
    assert.match(r3.closed, /the peer ended the session: .* refuses: it already has 1 WebRTC session/);

    // This side's own cap.
    const c = hub.add(newId(), { maxSessions: 1 });
    c.transport.dial(`webrtc:${silent}`, recorder().events);
    const r4 = recorder();
    c.transport.dial(`webrtc:${newId()}`, r4.events);
    assert.ok(await eventually(() => r4.closed));
    assert.match(r4.closed, /refused: this node already has 1 WebRTC session \(maxSessions 1\)/);

    const r5 = recorder();
    a.transport.dial(`webrtc:${a.id}`, r5.events);
    assert.ok(await eventually(() => r5.closed));
    assert.match(r5.closed, /this node's own id/);

    // Stopping the node ends pending sessions with its reason.
    const r6 = recorder();
    c.transport.detach('node stopped');
    hub.peers.delete(c.id);
    assert.equal(c.transport.sessionCount, 0);
    assert.equal(r6.closed, null);
  } finally {
    hub.stop();
  }
});

test('a peer sending text or oversized messages is refused with the right event', async () => {
  const hub = new Hub();
  const a = hub.add(newId(), { maxFrameSize: 1000 });
  const b = hub.add(newId());
  try {
    const ra = recorder();
    a.transport.dial(`webrtc:${b.id}`, ra.events);
    assert.ok(await eventually(() => ra.opened === 1 && b.accepted.length === 1, { timeoutMs: 10_000 }));
    b.accepted[0].link.send(new Uint8Array(2000));
    assert.ok(await eventually(() => ra.tooLarge.length === 1));
    assert.deepEqual(ra.tooLarge, [2000]);
    assert.equal(ra.frames.length, 0);
    // A text message: reach under the transport to the raw channel.
    const bLink = b.accepted[0].link;
    assert.equal(bLink.info().state, 'open');
    const session = [...b.transport.sessions.values()][0];
    session.dc.send('{"text": true}');
    assert.ok(await eventually(() => ra.violation));
    assert.equal(ra.violation.code, 4007);
    assert.match(ra.violation.reason, /sent a text message; text messages are not part of the yz protocol/);
    assert.ok(await eventually(() => b.accepted[0].rec.closed, { timeoutMs: 5000 }));
  } finally {
    hub.stop();
  }
});
