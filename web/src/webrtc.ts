// WebRtcTransport: links to peers addressed `webrtc:<64 hex id>` over one
// RTCPeerConnection + DataChannel per peer, signaled through the yz overlay.
//
// Signaling. The engine authenticates and delivers small strings between node
// ids (TransportHost.sendSignal out, Transport.signal in). This file owns their
// content: one JSON object per message (see `Wire` below) naming the session
// (`s`, chosen by the side that offers), the sender's incarnation (`i`, random
// per transport) and its offer counter (`n`). Candidates trickle in batches and
// wait until the remote description is set; candidates that overtake their
// offer (signals may take different paths) wait for it too.
//
// Perfect negotiation. Both sides may dial at once. The peer with the LOWER id
// is impolite: it ignores an offer that collides with its own unanswered offer.
// The peer with the HIGHER id is polite: it drops its own unanswered offer and
// answers the other one (the same rule as the core's "lower dialer id wins").
// The polite side yields by closing its unanswered RTCPeerConnection and
// answering with a fresh one rather than by SDP rollback: nothing has been
// connected yet, and node-datachannel (the Node.js peer) has no rollback, so
// one code path serves Chromium and Node.js. The engine's dial stays attached
// and is reported open when the surviving session's channel opens.
//
// The channel is negotiated (`negotiated: true, id: 0`, ordered, reliable):
// both sides create it themselves, so there is never an "ondatachannel" race
// and one session carries exactly one engine link. A channel that opens for a
// session this side did not dial is handed to the node (acceptLink); a dial
// for a peer whose incoming session is still connecting attaches to it.
import type { LinkEvents, SignalResult, Transport, TransportHost, TransportLink, TransportLinkInfo } from './transport.js';
import { truncateUtf8 } from './transport.js';

export type PeerConnectionFactory = (config: RTCConfiguration) => RTCPeerConnection;

export interface WebRtcOptions {
  // Creates an RTCPeerConnection; default: the global RTCPeerConnection (browsers).
  // In Node.js pass node-datachannel's polyfill: (c) => new RTCPeerConnection(c).
  createPeerConnection?: PeerConnectionFactory;
  iceServers?: RTCIceServer[]; // default none (host candidates only)
  // Extra RTCConfiguration fields, e.g. node-datachannel's { bindAddress: '127.0.0.1' }.
  rtcConfig?: Record<string, unknown>;
  maxSessions?: number; // concurrent peer connections, default 32; extra dials and offers are refused
  dialTimeoutMs?: number; // offer to open DataChannel, default 15 s
  maxFrameSize?: number; // default 131072 (kMaxFrameSize)
  maxBufferedBytes?: number; // close a link whose peer does not read, default 8 MiB
  closeGraceMs?: number; // how long a closing channel may flush its last frames, default 1 s
}

// Signaling message (JSON). t: offer | answer | ice (candidates) | bye (refusal or give-up).
interface Wire {
  yz: 1;
  t: 'offer' | 'answer' | 'ice' | 'bye';
  s: string; // session id, chosen by the offerer
  i: string; // sender's incarnation
  n: number; // offer: its number; answer: the sender's latest offer number; others: 0
  sdp?: string;
  c?: Candidate[];
  r?: string; // bye: why
}
interface Candidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

const ADDRESS = /^webrtc:([0-9a-f]{64})$/;
const SID = /^[0-9a-f]{16}$/;
const MAX_CANDIDATES_PER_MESSAGE = 40;
const MAX_QUEUED_CANDIDATES = 64;
// After the last frame has left this side, how long a closing channel waits
// before it closes, so the peer takes that frame before the close.
const LAST_FRAME_MS = 50;

export function webrtcAddress(idHex: string): string {
  return `webrtc:${idHex}`;
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const short = (id: string) => id.slice(0, 8);
const sessions = (n: number) => `${n} WebRTC session${n === 1 ? '' : 's'}`;
const message = (err: unknown) => (err as Error)?.message ?? String(err);

function parseWire(data: string): Wire | string {
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return 'not JSON';
  }
  const w = m as Partial<Wire>;
  if (!w || typeof w !== 'object' || w.yz !== 1) return 'not a yz WebRTC signal (version 1)';
  if (!['offer', 'answer', 'ice', 'bye'].includes(w.t as string)) return `unknown type ${String(w.t)}`;
  if (typeof w.s !== 'string' || !SID.test(w.s)) return 'bad session id';
  if (typeof w.i !== 'string' || !SID.test(w.i)) return 'bad incarnation';
  if (typeof w.n !== 'number' || !Number.isSafeInteger(w.n) || w.n < 0) return 'bad offer number';
  if ((w.t === 'offer' || w.t === 'answer') && typeof w.sdp !== 'string') return `${w.t} without sdp`;
  if (w.t === 'ice') {
    if (!Array.isArray(w.c) || w.c.length > MAX_CANDIDATES_PER_MESSAGE) return 'bad candidate list';
    for (const c of w.c) {
      if (!c || typeof c.candidate !== 'string') return 'bad candidate';
      if (c.sdpMid !== null && typeof c.sdpMid !== 'string') return 'bad candidate sdpMid';
      if (c.sdpMLineIndex !== null && typeof c.sdpMLineIndex !== 'number') return 'bad candidate sdpMLineIndex';
    }
  }
  if (w.t === 'bye' && w.r !== undefined && typeof w.r !== 'string') return 'bad bye reason';
  return w as Wire;
}

// The engine link riding on a peer's session; survives the polite side's yield.
interface Attachment {
  events: LinkEvents | null; // null while acceptLink() runs, and once the link is finished
  done: boolean; // the link is finished (closed either way): nothing more is sent or reported
  dialled: boolean;
  session: Session;
}

interface Session {
  peer: string;
  sid: string;
  offerer: boolean;
  pc: RTCPeerConnection;
  dc: RTCDataChannel | null; // the answerer creates it once the offer is set
  phase: 'signaling' | 'open' | 'closed';
  remoteSet: boolean;
  answered: boolean; // offerer: the answer arrived
  pendingRemote: Candidate[];
  outgoing: Candidate[];
  // Messages that arrived before this side saw the channel open (the peer's
  // side may open, and send its Hello, first): delivered right after open.
  inbox: unknown[];
  descriptionSent: boolean;
  flushTimer: ReturnType<typeof setTimeout> | null;
  peerIncarnation: string;
  peerFloor: number; // offers from peerIncarnation numbered <= this are stale
  att: Attachment | null;
  startedAt: number;
  openedAt: number;
  deadline: number;
  timer: ReturnType<typeof setTimeout> | null;
  iceConnected: boolean;
  lastError: string;
  settle: () => void;
  finished: Promise<void>;
}

export class WebRtcTransport implements Transport {
  readonly name = 'webrtc';
  private host: TransportHost | null = null;
  private readonly sessions = new Map<string, Session>();
  private readonly chains = new Map<string, Promise<void>>();
  // Candidates that arrived before their session's offer: peer -> {sid, candidates}.
  private readonly early = new Map<string, { sid: string; c: Candidate[] }>();
  private readonly incarnation = randomHex(8);
  private offers = 0;
  private readonly create: PeerConnectionFactory;
  private readonly maxSessions: number;
  private dialTimeoutMs: number;
  private readonly maxFrameSize: number;
  private readonly maxBufferedBytes: number;
  private readonly closeGraceMs: number;

  constructor(private options: WebRtcOptions = {}) {
    const Global = (globalThis as { RTCPeerConnection?: new (c: RTCConfiguration) => RTCPeerConnection }).RTCPeerConnection;
    const create = options.createPeerConnection ?? (Global ? (c: RTCConfiguration) => new Global(c) : null);
    if (!create) {
      throw new Error('WebRtcTransport: no RTCPeerConnection here; in Node.js pass createPeerConnection ' +
        "(e.g. from the node-datachannel package's polyfill)");
    }
    this.create = create;
    this.maxSessions = options.maxSessions ?? 32;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 15_000;
    this.maxFrameSize = options.maxFrameSize ?? 128 * 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.closeGraceMs = options.closeGraceMs ?? 1000;
  }

  // Changes ICE servers, extra RTCConfiguration fields or the dial timeout at
  // run time; sessions started from now on use them, open ones are kept. For
  // example { rtcConfig: { iceTransportPolicy: 'relay' } } with no TURN server
  // makes every new direct attempt fail as a symmetric NAT would (the engine
  // then links through a relay), and { rtcConfig: {} } allows direct paths again.
  configure(patch: Pick<WebRtcOptions, 'iceServers' | 'rtcConfig' | 'dialTimeoutMs'>): void {
    this.options = { ...this.options, ...patch };
    if (patch.dialTimeoutMs !== undefined) this.dialTimeoutMs = patch.dialTimeoutMs;
  }

  // Peers with a session (any phase); for diagnostics and tests.
  get sessionCount(): number {
    return this.sessions.size;
  }

  canDial(address: string): boolean {
    return ADDRESS.test(address);
  }

  attach(host: TransportHost): void {
    if (this.host && this.host !== host) throw new Error('WebRtcTransport: already attached to another node');
    this.host = host;
  }

  detach(reason: string): void {
    for (const s of [...this.sessions.values()]) this.fail(s, reason);
    this.chains.clear();
    this.early.clear();
    this.host = null;
  }

  dial(address: string, events: LinkEvents): TransportLink {
    const peer = ADDRESS.exec(address)?.[1] ?? '';
    const refuse = (reason: string): TransportLink => {
      queueMicrotask(() => events.closed(reason));
      return { send: () => {}, close: () => {}, info: () => ({ transport: 'webrtc', state: 'closed' }) };
    };
    const host = this.host;
    if (!peer) return refuse(`not a WebRTC address: ${address} (expected webrtc:<64 hex node id>)`);
    if (!host) return refuse(`WebRTC to ${short(peer)}: the transport is not attached to a running node`);
    if (peer === host.localId) return refuse(`WebRTC to ${short(peer)}: that is this node's own id`);
    const existing = this.sessions.get(peer);
    if (existing) {
      if (existing.att) {
        return refuse(`WebRTC to ${short(peer)}: a link to this peer already rides on its DataChannel (session ${existing.sid})`);
      }
      // The peer's offer is being answered: this dial rides on that session.
      const att: Attachment = { events, done: false, dialled: true, session: existing };
      existing.att = att;
      host.log('debug', `WebRTC to ${short(peer)}: dial attached to the incoming session ${existing.sid}`);
      return this.linkFor(att);
    }
    if (this.sessions.size >= this.maxSessions) {
      return refuse(`WebRTC to ${short(peer)} refused: this node already has ${sessions(this.sessions.size)} ` +
        `(maxSessions ${this.maxSessions})`);
    }
    const s = this.newSession(peer, randomHex(8), true, Date.now() + this.dialTimeoutMs);
    const att: Attachment = { events, done: false, dialled: true, session: s };
    s.att = att;
    void this.offer(s);
    return this.linkFor(att);
  }

  // An authenticated signaling message from `from` (64 hex), delivered by the node.
  signal(from: string, data: string): void {
    const host = this.host;
    if (!host || !/^[0-9a-f]{64}$/.test(from) || from === host.localId) return;
    const w = parseWire(data);
    if (typeof w === 'string') {
      host.log('debug', `ignored a malformed WebRTC signal from ${short(from)}: ${w}`);
      return;
    }
    // Messages of one peer are handled in order, each to completion.
    const prev = this.chains.get(from) ?? Promise.resolve();
    const next = prev
      .then(() => this.handle(from, w))
      .catch((err) => this.host?.log('warn', `WebRTC signal from ${short(from)} failed: ${message(err)}`));
    this.chains.set(from, next);
    void next.then(() => {
      if (this.chains.get(from) === next) this.chains.delete(from);
    });
  }

  // ---- signaling ------------------------------------------------------------

  private polite(peer: string): boolean {
    return (this.host?.localId ?? '') > peer;
  }

  private async handle(peer: string, w: Wire): Promise<void> {
    if (!this.host) return;
    const s = this.sessions.get(peer);
    switch (w.t) {
      case 'offer':
        return this.onOffer(peer, w, s);
      case 'answer':
        if (!s || s.sid !== w.s || !s.offerer || s.answered || s.phase === 'closed') return;
        s.answered = true;
        s.peerIncarnation = w.i;
        s.peerFloor = w.n;
        await s.pc.setRemoteDescription({ type: 'answer', sdp: w.sdp! });
        if (this.live(s)) await this.remoteDescriptionSet(s);
        return;
      case 'ice': {
        if (s && s.sid === w.s) {
          if (s.remoteSet) for (const c of w.c!) await this.addCandidate(s, c);
          else this.queueCandidates(s.pendingRemote, w.c!);
          return;
        }
        // Ahead of its offer (or stale): keep a few for the session it names.
        let e = this.early.get(peer);
        if (!e || e.sid !== w.s) {
          if (!e && this.early.size >= this.maxSessions) this.early.delete(this.early.keys().next().value!);
          this.early.set(peer, (e = { sid: w.s, c: [] }));
        }
        this.queueCandidates(e.c, w.c!);
        return;
      }
      case 'bye':
        if (s && s.sid === w.s) {
          this.fail(s, `WebRTC to ${short(peer)}: the peer ended the session: ${w.r || '(no reason given)'}`);
        }
        return;
    }
  }

  private async onOffer(peer: string, w: Wire, current: Session | undefined): Promise<void> {
    const host = this.host!;
    let s = current;
    if (s && s.sid === w.s) return; // repeated
    if (s && s.peerIncarnation === w.i && w.n <= s.peerFloor) {
      host.log('debug', `WebRTC from ${short(peer)}: ignored a stale offer (session ${w.s})`);
      return;
    }
    let att: Attachment | null = null;
    let deadline = Date.now() + this.dialTimeoutMs;
    if (s && s.offerer && !s.answered && s.phase !== 'open') {
      // Both sides offered at once.
      if (!this.polite(peer)) {
        host.log('debug', `WebRTC with ${short(peer)}: offers collided; this side (lower id) keeps its own`);
        return;
      }
      host.log('debug', `WebRTC with ${short(peer)}: offers collided; this side (higher id) answers the peer's`);
      att = s.att;
      s.att = null;
      deadline = s.deadline;
      this.fail(s, '', { silent: true });
    } else if (s) {
      this.fail(s, `WebRTC to ${short(peer)}: the peer started a new session (${w.s}); the old one (${s.sid}) is dropped`);
    }
    if (!att && this.sessions.size >= this.maxSessions) {
      const reason = `${short(host.localId)} refuses: it already has ${sessions(this.sessions.size)}`;
      host.log('info', `WebRTC from ${short(peer)}: offer refused: ${reason}`);
      void this.send(peer, { t: 'bye', s: w.s, n: 0, r: reason });
      return;
    }
    s = this.newSession(peer, w.s, false, deadline);
    s.peerIncarnation = w.i;
    s.peerFloor = w.n;
    if (att) {
      s.att = att;
      att.session = s;
    }
    const e = this.early.get(peer);
    if (e) {
      this.early.delete(peer);
      if (e.sid === s.sid) s.pendingRemote.push(...e.c);
    }
    try {
      await s.pc.setRemoteDescription({ type: 'offer', sdp: w.sdp! });
      if (!this.live(s)) return;
      this.openChannel(s);
      const answer = await s.pc.createAnswer();
      if (!this.live(s)) return;
      await s.pc.setLocalDescription(answer);
      if (!this.live(s)) return;
      await this.remoteDescriptionSet(s);
      if (!this.live(s)) return;
      await this.sendDescription(s, 'answer', answer.sdp ?? '');
    } catch (err) {
      this.fail(s, `WebRTC from ${short(peer)}: cannot answer the offer: ${message(err)}`,
        { bye: 'the offer could not be answered' });
    }
  }

  private async offer(s: Session): Promise<void> {
    try {
      const offer = await s.pc.createOffer();
      if (!this.live(s)) return;
      await s.pc.setLocalDescription(offer);
      if (!this.live(s)) return;
      await this.sendDescription(s, 'offer', offer.sdp ?? '');
    } catch (err) {
      this.fail(s, `WebRTC to ${short(s.peer)}: cannot create an offer: ${message(err)}`);
    }
  }

  private async sendDescription(s: Session, t: 'offer' | 'answer', sdp: string): Promise<void> {
    const n = t === 'offer' ? ++this.offers : this.offers;
    const r = await this.send(s.peer, { t, s: s.sid, n, sdp });
    if (!this.live(s)) return;
    if (!r.ok) {
      this.fail(s, `WebRTC to ${short(s.peer)}: signaling failed: ${r.error || 'the node could not deliver the ' + t}`);
      return;
    }
    s.descriptionSent = true;
    this.flushCandidates(s);
  }

  private async send(peer: string, m: Omit<Wire, 'yz' | 'i'>): Promise<SignalResult> {
    const host = this.host;
    if (!host) return { ok: false, error: 'the node stopped', path: '' };
    const data = JSON.stringify({ yz: 1, i: this.incarnation, ...m });
    try {
      return await host.sendSignal(peer, data);
    } catch (err) {
      return { ok: false, error: message(err), path: '' };
    }
  }

  private async remoteDescriptionSet(s: Session): Promise<void> {
    s.remoteSet = true;
    const queued = s.pendingRemote.splice(0);
    for (const c of queued) await this.addCandidate(s, c);
  }

  private async addCandidate(s: Session, c: Candidate): Promise<void> {
    if (!this.live(s) || !c.candidate) return;
    try {
      await s.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? '0', sdpMLineIndex: c.sdpMLineIndex ?? 0 });
    } catch (err) {
      this.host?.log('debug', `WebRTC to ${short(s.peer)}: a remote candidate was refused: ${message(err)}`);
    }
  }

  private queueCandidates(into: Candidate[], add: Candidate[]): void {
    into.push(...add);
    if (into.length > MAX_QUEUED_CANDIDATES) into.splice(0, into.length - MAX_QUEUED_CANDIDATES);
  }

  private flushCandidates(s: Session): void {
    if (!s.descriptionSent || s.outgoing.length === 0 || s.flushTimer || !this.live(s)) return;
    // A short pause batches the candidates gathered together into one message.
    s.flushTimer = setTimeout(() => {
      s.flushTimer = null;
      if (!this.live(s)) return;
      const batch = s.outgoing.splice(0, MAX_CANDIDATES_PER_MESSAGE);
      void this.send(s.peer, { t: 'ice', s: s.sid, n: 0, c: batch }).then((r) => {
        if (!r.ok) this.host?.log('debug', `WebRTC to ${short(s.peer)}: candidates not delivered: ${r.error}`);
      });
      this.flushCandidates(s);
    }, 5);
  }

  // ---- sessions -------------------------------------------------------------

  private live(s: Session): boolean {
    return s.phase !== 'closed' && this.sessions.get(s.peer) === s;
  }

  private newSession(peer: string, sid: string, offerer: boolean, deadline: number): Session {
    const config = { iceServers: this.options.iceServers ?? [], ...this.options.rtcConfig } as RTCConfiguration;
    const pc = this.create(config);
    let settle: () => void = () => {};
    const finished = new Promise<void>((r) => (settle = r));
    const s: Session = {
      peer, sid, offerer, pc, dc: null, phase: 'signaling', remoteSet: false, answered: false, pendingRemote: [],
      outgoing: [], inbox: [], descriptionSent: false, flushTimer: null, peerIncarnation: '', peerFloor: -1, att: null,
      startedAt: Date.now(), openedAt: -1, deadline, timer: null, iceConnected: false, lastError: '', settle, finished,
    };
    this.sessions.set(peer, s);
    s.timer = setTimeout(() => this.timedOut(s), Math.max(0, deadline - Date.now()));
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!this.live(s) || !c || !c.candidate) return;
      // node-datachannel prefixes "a="; the wire carries the bare attribute.
      s.outgoing.push({ candidate: c.candidate.replace(/^a=/, ''), sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
      this.flushCandidates(s);
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') s.iceConnected = true;
    };
    pc.onconnectionstatechange = () => {
      if (!this.live(s)) return;
      const state = pc.connectionState;
      if (state === 'connected') s.iceConnected = true;
      if (state === 'failed') {
        this.fail(s, s.phase === 'open'
          ? `WebRTC link to ${short(peer)} failed: the peer stopped answering (ICE consent lost or its page went away)`
          : `WebRTC to ${short(peer)}: the connection failed: no ICE candidate pair works (check ICE servers/firewall)`);
      } else if (state === 'closed') {
        // Only node-datachannel reports a peer's close this way; browsers close the channel.
        this.fail(s, s.phase === 'open'
          ? `WebRTC link to ${short(peer)} closed by the peer (it stopped, or its page went away)`
          : `WebRTC to ${short(peer)}: the peer connection closed before the DataChannel opened`);
      }
    };
    if (offerer) this.openChannel(s);
    return s;
  }

  // The negotiated channel (both sides create it; no "datachannel" event). The
  // answerer creates it after setting the offer: node-datachannel would
  // otherwise start an offer of its own, and the channel opens ~1 s later.
  private openChannel(s: Session): void {
    const peer = s.peer;
    const dc = s.pc.createDataChannel('yz', { negotiated: true, id: 0, ordered: true });
    dc.binaryType = 'arraybuffer';
    s.dc = dc;
    dc.onopen = () => this.opened(s);
    dc.onerror = (ev) => {
      const err = (ev as RTCErrorEvent).error;
      s.lastError = err?.message || (err as { errorDetail?: string })?.errorDetail || 'DataChannel error';
    };
    dc.onclose = () => {
      if (!this.live(s)) return;
      this.fail(s, s.phase === 'open'
        ? `WebRTC DataChannel to ${short(peer)} closed by the peer (it stopped, or its page went away)` +
          (s.lastError ? `: ${s.lastError}` : '')
        : `WebRTC to ${short(peer)}: the DataChannel closed before it opened` + (s.lastError ? `: ${s.lastError}` : ''));
    };
    dc.onmessage = (ev) => this.received(s, ev.data);
  }

  private opened(s: Session): void {
    if (!this.live(s)) return;
    s.phase = 'open';
    s.openedAt = Date.now();
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    const host = this.host!;
    host.log('debug', `WebRTC to ${short(s.peer)}: DataChannel open after ${s.openedAt - s.startedAt} ms ` +
      `(${s.offerer ? 'offered' : 'answered'}, session ${s.sid})`);
    if (s.att) {
      s.att.events?.open();
    } else {
      const att: Attachment = { events: null, done: false, dialled: false, session: s };
      s.att = att;
      try {
        // The engine sends its Hello from inside acceptLink(): send() works already.
        const events = host.acceptLink(webrtcAddress(s.peer), this.linkFor(att), 'webrtc');
        if (!att.done) att.events = events;
      } catch (err) {
        this.fail(s, `WebRTC from ${short(s.peer)}: the node did not accept the link: ${message(err)}`);
        return;
      }
    }
    for (const data of s.inbox.splice(0)) this.received(s, data);
  }

  private received(s: Session, data: unknown): void {
    if (!this.live(s)) return;
    if (s.phase !== 'open') {
      if (s.inbox.length >= 64) {
        this.fail(s, `WebRTC to ${short(s.peer)}: more than 64 messages arrived before the DataChannel opened`);
        return;
      }
      s.inbox.push(data);
      return;
    }
    const ev = s.att?.events;
    if (!ev) return;
    if (typeof data === 'string') {
      const reason = 'text messages are not part of the yz protocol: send binary frames';
      const att = s.att!;
      att.events = null;
      att.done = true;
      this.fail(s, '', { silent: true });
      ev.violation(4007, `WebRTC peer ${short(s.peer)} sent a text message; ${reason}`);
      return;
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    if (!bytes) return;
    if (bytes.length > this.maxFrameSize) {
      ev.tooLarge(bytes.length);
      return;
    }
    ev.frame(bytes);
  }

  private timedOut(s: Session): void {
    if (!this.live(s)) return;
    const secs = `${Math.round(this.dialTimeoutMs / 100) / 10} s`;
    let why: string;
    if (s.offerer && !s.answered) {
      why = `no answer to the offer within ${secs}: the peer did not respond to signaling (offline, or not WebRTC-capable)`;
    } else if (!s.iceConnected) {
      why = `no ICE candidate pair succeeded within ${secs}: check ICE servers/firewall`;
    } else {
      why = `ICE connected but the DataChannel (DTLS/SCTP) did not open within ${secs}`;
    }
    this.fail(s, `WebRTC to ${short(s.peer)}: ${why}`, { bye: `gave up: ${why}` });
  }

  // Ends a session: tells its engine link (unless silent), tears the connection down.
  private fail(s: Session, reason: string, opts: { silent?: boolean; bye?: string } = {}): void {
    if (s.phase === 'closed') return;
    s.phase = 'closed';
    if (this.sessions.get(s.peer) === s) this.sessions.delete(s.peer);
    if (s.timer) clearTimeout(s.timer);
    if (s.flushTimer) clearTimeout(s.flushTimer);
    if (opts.bye) void this.send(s.peer, { t: 'bye', s: s.sid, n: 0, r: truncateUtf8(opts.bye, 300) });
    this.teardown(s, 0);
    const att = s.att;
    const ev = att?.events;
    if (att && att.session === s) {
      att.events = null;
      att.done = true;
    }
    if (!opts.silent && ev && att?.session === s) ev.closed(reason);
  }

  private teardown(s: Session, graceMs: number): void {
    const { pc, dc } = s;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      try {
        pc.close();
      } catch {
        /* already closed */
      }
      s.settle();
    };
    const closeChannel = () => {
      try {
        if (dc && (dc.readyState === 'open' || dc.readyState === 'connecting')) dc.close();
      } catch {
        /* already closed */
      }
    };
    if (graceMs <= 0 || !dc || dc.readyState !== 'open') {
      closeChannel();
      finish();
      return;
    }
    // Let queued frames (the Goodbye) leave, and reach the peer, before the
    // channel closes: closing at once could overtake them (seen with
    // node-datachannel). Bounded by graceMs either way.
    const timer = setTimeout(() => {
      closeChannel();
      finish();
    }, graceMs);
    dc.addEventListener('close', () => {
      clearTimeout(timer);
      finish();
    });
    const deadline = Date.now() + graceMs;
    const drain = () => {
      if (done) return;
      if (dc.readyState === 'open' && dc.bufferedAmount > 0 && Date.now() < deadline - LAST_FRAME_MS) {
        setTimeout(drain, 10);
        return;
      }
      setTimeout(closeChannel, Math.max(0, Math.min(LAST_FRAME_MS, deadline - Date.now())));
    };
    drain();
  }

  private linkFor(att: Attachment): TransportLink {
    const transport = this;
    return {
      send(frame: Uint8Array): void {
        const s = att.session;
        const dc = s.dc;
        if (att.done || s.phase !== 'open' || !dc || dc.readyState !== 'open') return;
        if (dc.bufferedAmount > transport.maxBufferedBytes) {
          transport.fail(s, `WebRTC link to ${short(s.peer)} closed by this node: the peer is not reading ` +
            `(more than ${transport.maxBufferedBytes} bytes queued)`);
          return;
        }
        try {
          dc.send(frame as Uint8Array<ArrayBuffer>);
        } catch (err) {
          transport.fail(s, `WebRTC link to ${short(s.peer)}: sending a ${frame.length}-byte frame failed: ${message(err)}`);
        }
      },
      close(code: number, reason: string): void {
        // The core already sent its Goodbye frame; nothing else goes out.
        const s = att.session;
        att.events = null;
        att.done = true;
        if (s.phase === 'closed') return;
        s.phase = 'closed';
        if (transport.sessions.get(s.peer) === s) transport.sessions.delete(s.peer);
        if (s.timer) clearTimeout(s.timer);
        if (s.flushTimer) clearTimeout(s.flushTimer);
        transport.host?.log('debug', `WebRTC to ${short(s.peer)}: closing (${code} ${reason})`);
        transport.teardown(s, transport.closeGraceMs);
      },
      get finished(): Promise<void> {
        return att.session.finished;
      },
      info(): TransportLinkInfo {
        const s = att.session;
        return {
          transport: 'webrtc',
          state: s.dc?.readyState ?? 'connecting',
          session: s.sid,
          offerer: s.offerer,
          polite: transport.polite(s.peer),
          connection: s.pc.connectionState,
          ice: s.pc.iceConnectionState,
          open_ms: s.openedAt < 0 ? -1 : s.openedAt - s.startedAt,
          buffered: s.dc?.readyState === 'open' ? s.dc.bufferedAmount : 0,
        };
      },
    };
  }
}
