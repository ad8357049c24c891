// YzNode: one yz peer running the WebAssembly core, in a browser page
// (role "browser") or in Node.js (role "client"). It turns transport events and
// timers into engine inputs and the engine's actions into transport calls:
//
//   transport open/frame/close ──► engine input ──► outbox ──► send/dial/close, logs, API results
//   one setTimeout, re-armed to engine.next_deadline() after every input
//
// Transports: WebSocket for ws:// servers; WebRTC (webrtc.ts) for webrtc:<id>
// peers when enabled (default in a page that has RTCPeerConnection). Signals
// from the engine go to the transports; the WebRTC transport signals back
// through sendSignal() and registers channels the peer opened with acceptLink().
//
// Inputs never nest: an input that arrives while the outbox is being carried
// out (a transport calling back synchronously) is queued and run right after.
import { loadCore, type Core, type OutboxEntry } from './core.js';
import { loadSodiumCrypto, type CryptoProvider } from './crypto.js';
import { Identity, loadBrowserIdentity, type BrowserIdentityScope } from './identity.js';
import {
  closeCodeName,
  globalWebSocketFactory,
  WebSocketTransport,
  type LinkEvents,
  type SignalResult,
  type Transport,
  type TransportHost,
  type TransportLink,
  type TransportLinkInfo,
} from './transport.js';
import { WebRtcTransport, type WebRtcOptions } from './webrtc.js';

export type Role = 'browser' | 'client';
export type LogLevel = 'debug' | 'info' | 'warn' | 'silent';

// Engine knobs (docs/architecture.md, "Timing constants"); omitted = core default.
export interface EngineOptions {
  k?: number;
  alpha?: number;
  getQuorum?: number; // a get answers once this many nodes returned the newest version (default 2; 0: full lookup)
  minLinks?: number;
  maxLinks?: number;
  maxQueryLinks?: number;
  requestTimeoutMs?: number;
  routedRequestTimeoutMs?: number; // a request routed through the overlay (default 10 s)
  handshakeTimeoutMs?: number;
  maintenanceIntervalMs?: number;
  selfLookupIntervalMs?: number;
  queryLinkIdleMs?: number;
  republishIntervalMs?: number;
  defaultTtlSeconds?: number;
  storageMaxBytes?: number;
  storageMaxValues?: number;
  metrics?: boolean;
  buildId?: string;
  // When a direct WebRTC dial to a browser fails: link through a relay server
  // (default true), and retry the direct path this often (default 30 s, min 1 s).
  useRelays?: boolean;
  directRetryIntervalMs?: number;
}

export interface KeepAliveOptions {
  visibleIntervalMs?: number; // ping idle links this often while the tab is visible (default 25 s)
  hiddenIntervalMs?: number; // ... and while hidden (default 10 s: throttled tabs keep their links)
  timeoutMs?: number; // a link silent this long is dead (default 60 s)
  followVisibility?: boolean; // default true in a browser page
}

export interface YzNodeOptions {
  // ws:// or wss:// addresses of a bootstrap server and/or known nodes.
  seeds: string[];
  role?: Role; // default: "browser" in a page, "client" in Node.js
  // An Identity, a browser scope ("origin" default in a page, "tab",
  // "ephemeral"), or a raw 32-byte seed. Node.js default: ephemeral.
  identity?: Identity | BrowserIdentityScope | Uint8Array;
  crypto?: CryptoProvider; // default: libsodium.js
  transports?: Transport[]; // default: WebSocket (global WebSocket)
  // WebRTC DataChannels to other WebRTC-capable peers (browsers). Default: on
  // in a page that has RTCPeerConnection, off elsewhere. In Node.js pass
  // options with createPeerConnection (createNodeClient({ webrtc }) does).
  // Ignored when `transports` already holds a WebRTC transport.
  webrtc?: boolean | WebRtcOptions;
  engine?: EngineOptions;
  keepAlive?: KeepAliveOptions;
  logLevel?: LogLevel; // printed to the console at this level and above (default "warn")
  coreBaseUrl?: string | URL; // where yz_core.js/.wasm live (default: next to this module)
  stopGraceMs?: number; // how long stop() waits for goodbyes to leave (default 1000)
}

// Shapes mirror the HTTP API of yz-node (docs/operations.md).
export interface Refusal {
  age_ms: number;
  peer: string;
  code: number;
  code_name: string;
  reason: string;
}
export interface Status {
  healthy: boolean;
  reasons: string[];
  role: string;
  id: string;
  build_id: string;
  protocol: { min: number; max: number };
  uptime_s: number;
  links: number;
  query_links: number;
  routing_table_size: number;
  stored_values: number;
  stored_bytes: number;
  last_lookup_age_ms: number | null;
  last_self_lookup_ok: boolean;
  keepalive: { interval_ms: number; timeout_ms: number };
  refusals: Refusal[];
}
export interface LinkInfo {
  link: number;
  transport: string; // 'websocket' | 'webrtc' | 'relay' (through relay_node) | another transport's name
  // The transport's own view: `state` is the WebSocket / DataChannel
  // readyState; WebRTC adds session, offerer, polite, connection, ice, open_ms.
  channel: TransportLinkInfo | null;
  peer: string;
  role: string;
  outbound: boolean;
  ready: boolean;
  kept: boolean;
  address: string;
  relayed: boolean; // runs through a relay server, end-to-end encrypted (docs/protocol.md section 18)
  relay: string; // that server's id (hex), or ''
  build_id: string;
  version: number;
  age_ms: number;
  idle_ms: number;
  in: { messages: number; bytes: number };
  out: { messages: number; bytes: number };
}
export interface RoutingEntry {
  id: string;
  role: string;
  addresses: string[];
  last_seen_age_ms: number;
  failures: number;
}
export interface Peers {
  links: LinkInfo[];
  routing_table: RoutingEntry[];
}
export interface Contact {
  id: string;
  role: string;
  addresses: string[];
}
export interface LookupResult {
  ok: boolean;
  error: string;
  target: string;
  closest: Contact[];
  hops: number;
  requests: number;
  failures: number;
  elapsed_ms: number;
}
export interface PutResult {
  ok: boolean;
  error: string;
  key: string;
  seq: number;
  replicas_acked: number;
  replicas_tried: number;
  refusals: string[];
  elapsed_ms: number;
}
export interface GetResult {
  ok: boolean;
  found: boolean;
  error: string;
  key: string;
  value: Uint8Array | null; // the bytes when found
  text: string | null; // the value as text when found and valid UTF-8
  seq: number;
  hops: number;
  requests: number;
  repaired: number;
  elapsed_ms: number;
}
export interface PingResult {
  ok: boolean;
  error: string;
  rtt_ms: number;
}

export interface LinkEvent {
  link: number;
  transport: string; // 'websocket' | 'webrtc' | 'relay' | ...
  peer: string; // node id (hex)
  role: string;
  address: string;
  kept: boolean;
  reason?: string; // link-down: why it closed
}
export interface HealthEvent {
  healthy: boolean;
  reasons: string[];
}
export interface LogEvent {
  level: 'debug' | 'info' | 'warn';
  text: string;
}
export interface YzNodeEvents {
  'link-up': LinkEvent;
  'link-down': LinkEvent;
  health: HealthEvent;
  log: LogEvent;
}

// Milliseconds since the Unix epoch from a monotonic clock (as the native
// runtime passes): put() versions values with it, so they must compare with
// the servers' clocks, and it must never run backwards.
const epochBase = Date.now() - performance.now();
function now(): number {
  return Math.floor(epochBase + performance.now());
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, silent: 3 };
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

function toBytes(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

function inBrowserPage(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== 'undefined';
}

interface LinkState {
  transport: TransportLink | null; // null until dial() returned
  kind: string; // the transport's name
  address: string;
  closeReason?: string;
}

type Listener<T> = (event: T) => void;

export class YzNode {
  private core: Core | null = null;
  private handle = 0;
  private slot = 0;
  private identityValue: Identity | null = null;
  private idValue = '';
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private readonly links = new Map<number, LinkState>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly ops = new Map<number, (entry: Extract<OutboxEntry, { a: 'done' }>, blob: Uint8Array) => void>();
  private nextOp = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = -1;
  private pumping = false;
  private readonly queued: Array<() => void> = [];
  private lastWatch = '';
  private ready = new Map<number, LinkEvent>();
  private health: HealthEvent = { healthy: false, reasons: ['node has not started'] };
  private readonly listeners = new Map<keyof YzNodeEvents, Set<Listener<never>>>();
  private readonly transports: Transport[];
  private readonly role: Role;
  private readonly logLevel: number;
  private hiddenValue = false;
  private visibilityHandler: (() => void) | null = null;
  private startedAt = 0;
  private healthyAt = -1;

  constructor(private readonly options: YzNodeOptions) {
    if (!options || !Array.isArray(options.seeds)) throw new Error('YzNode: options.seeds (array of ws:// URLs) is required');
    this.role = options.role ?? (inBrowserPage() ? 'browser' : 'client');
    this.logLevel = LEVELS[options.logLevel ?? 'warn'];
    if (options.transports) {
      this.transports = [...options.transports];
    } else {
      const factory = globalWebSocketFactory();
      if (!factory) {
        throw new Error("YzNode: no global WebSocket here; in Node.js use createNodeClient() from 'yz-web/node'");
      }
      this.transports = [new WebSocketTransport(factory)];
    }
    const hasRtc = typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
    const webrtc = options.webrtc ?? (inBrowserPage() && hasRtc);
    if (webrtc !== false && !this.transports.some((t) => t.name === 'webrtc')) {
      this.transports.push(new WebRtcTransport(webrtc === true ? {} : webrtc));
    }
  }

  // Whether this node opens WebRTC DataChannels (advertises webrtc:<id>).
  get webrtc(): boolean {
    return this.transports.some((t) => typeof t.signal === 'function');
  }

  // ---- public API ---------------------------------------------------------

  // The node id (64 hex digits) once started.
  get id(): string {
    return this.idValue;
  }
  get identity(): Identity | null {
    return this.identityValue;
  }
  // Whether the visibility hook last said the page is hidden.
  get hidden(): boolean {
    return this.hiddenValue;
  }
  get running(): boolean {
    return this.state === 'running';
  }
  // Milliseconds from start() to the first healthy status (-1 until then).
  get joinMs(): number {
    return this.healthyAt < 0 ? -1 : this.healthyAt - this.startedAt;
  }
  // Load time of the wasm core (shared by every node of the page).
  get coreLoadMs(): number {
    return this.core?.loadMs ?? -1;
  }
  // Size of the wasm core's linear memory (shared by every node of the page).
  get coreMemoryBytes(): number {
    return this.core?.memoryBytes ?? 0;
  }

  on<K extends keyof YzNodeEvents>(event: K, listener: Listener<YzNodeEvents[K]>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }
  off<K extends keyof YzNodeEvents>(event: K, listener: Listener<YzNodeEvents[K]>): this {
    this.listeners.get(event)?.delete(listener as Listener<never>);
    return this;
  }

  // Loads the core and the identity, then starts joining through the seeds.
  // Resolves once the engine runs; use waitHealthy() to wait for the join.
  start(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`YzNode.start: node is already ${this.state}`));
    this.state = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private starting: Promise<void> | null = null;

  private async doStart(): Promise<void> {
    try {
      const crypto = this.options.crypto ?? (await loadSodiumCrypto());
      const core = await loadCore({ crypto, baseUrl: this.options.coreBaseUrl });
      const identity = await this.resolveIdentity(core.crypto);
      this.startedAt = now();
      const slot = core.host.addKey(identity.secretKey);
      let handle: number;
      try {
        handle = core.create(this.configText(identity, slot));
      } catch (err) {
        core.host.dropKey(slot);
        identity.release();
        throw err;
      }
      this.core = core;
      this.slot = slot;
      this.handle = handle;
      this.identityValue = identity;
      this.idValue = core.nodeId(handle);
      this.state = 'running';
      this.followVisibility();
      const host = this.transportHost();
      for (const t of this.transports) t.attach?.(host);
      this.input(() => core.start(handle, now()));
    } catch (err) {
      this.state = 'new';
      throw err;
    }
  }

  // Says goodbye on every link, fails pending operations, frees the engine.
  async stop(): Promise<void> {
    if (this.state === 'starting') await this.starting?.catch(() => {});
    if (this.state !== 'running') return;
    const core = this.core!;
    const handle = this.handle;
    this.input(() => core.stop(handle, now()));
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.visibilityHandler) {
      (globalThis as { document?: Document }).document?.removeEventListener('visibilitychange', this.visibilityHandler);
    }
    for (const [link, state] of this.links) {
      // The engine closed every link it knew; these are dials it never saw finish.
      state.transport?.close(4000, 'node shutting down');
      if (state.transport?.finished) this.finishing.add(state.transport.finished);
      this.links.delete(link);
    }
    for (const t of this.transports) t.detach?.('node stopped');
    core.destroy(handle);
    core.host.dropKey(this.slot);
    this.handle = 0;
    this.identityValue?.release();
    for (const [, fail] of this.ops) fail({ a: 'done', op: 0, result: { ok: false, error: 'node is stopped' }, off: 0, len: 0 }, new Uint8Array());
    this.ops.clear();
    for (const [, ev] of this.ready) this.emit('link-down', { ...ev, reason: 'node stopped' });
    this.ready.clear();
    this.setHealth({ healthy: false, reasons: ['node is stopped'] });
    const grace = this.options.stopGraceMs ?? 1000;
    if (this.finishing.size > 0) {
      let timeout: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.finishing]),
        new Promise<void>((r) => (timeout = setTimeout(r, grace))),
      ]);
      clearTimeout(timeout);
    }
  }

  // Resolves with the status once the node is healthy; rejects after timeoutMs
  // naming the reasons it is not.
  waitHealthy(timeoutMs = 10_000): Promise<Status> {
    if (this.state === 'running' && this.health.healthy) return Promise.resolve(this.status());
    return new Promise((resolve, reject) => {
      const onHealth = (h: HealthEvent) => {
        if (!h.healthy) return;
        this.off('health', onHealth);
        clearTimeout(timer);
        resolve(this.status());
      };
      const timer = setTimeout(() => {
        this.off('health', onHealth);
        reject(new Error(`node not healthy after ${timeoutMs} ms: ${this.health.reasons.join('; ') || 'unknown'}`));
      }, timeoutMs);
      this.on('health', onHealth);
    });
  }

  status(): Status {
    return JSON.parse(this.running ? this.core!.status(this.handle, now(), false) : 'null') ?? this.stoppedStatus();
  }

  peers(): Peers {
    if (!this.running) return { links: [], routing_table: [] };
    const s = JSON.parse(this.core!.status(this.handle, now(), true)) as { link_list: LinkInfo[]; routing_table: RoutingEntry[] };
    for (const l of s.link_list) {
      const state = this.links.get(l.link);
      l.transport = this.linkKind(l.link, l.relayed);
      l.channel = state?.transport?.info?.() ?? null;
    }
    return { links: s.link_list, routing_table: s.routing_table };
  }

  // The key id a user key is stored under (SHA-256, hashed once by the core).
  keyId(key: string | Uint8Array): string {
    this.mustRun('keyId');
    return this.core!.keyId(this.handle, toBytes(key));
  }

  put(key: string | Uint8Array, value: string | Uint8Array, options: { ttlSeconds?: number } = {}): Promise<PutResult> {
    return this.operation<PutResult>('put', (op, t) =>
      this.core!.put(this.handle, op, toBytes(key), toBytes(value), options.ttlSeconds ?? 0, t),
    );
  }

  get(key: string | Uint8Array): Promise<GetResult> {
    return this.operation<GetResult>(
      'get',
      (op, t) => this.core!.get(this.handle, op, toBytes(key), t),
      (result, bytes) => {
        const r = result as unknown as GetResult;
        r.value = r.found ? bytes : null;
        r.text = null;
        if (r.found) {
          try {
            r.text = strictDecoder.decode(bytes);
          } catch {
            r.text = null;
          }
        }
        return r;
      },
    );
  }

  findNode(targetHex: string): Promise<LookupResult> {
    return this.operation<LookupResult>('findNode', (op, t) => this.core!.findNode(this.handle, op, targetHex, t));
  }

  ping(peerHex: string): Promise<PingResult> {
    return this.operation<PingResult>('ping', (op, t) => this.core!.ping(this.handle, op, peerHex, t));
  }

  // Sends a WebRTC signaling message (at most 16384 UTF-8 bytes) to a peer,
  // authenticated by the engine: over an open link to it, else routed through
  // the overlay. The WebRTC transport uses it; so can other transports.
  sendSignal(toHex: string, data: string): Promise<SignalResult> {
    return this.operation<SignalResult>('sendSignal', (op, t) => this.core!.signal(this.handle, op, toHex, data, t));
  }

  // WebRTC settings at run time (WebRtcTransport.configure): ICE servers,
  // RTCConfiguration fields, dial timeout; new sessions use them.
  configureWebRtc(patch: Pick<WebRtcOptions, 'iceServers' | 'rtcConfig' | 'dialTimeoutMs'>): void {
    const t = this.transports.find((x): x is WebRtcTransport => x instanceof WebRtcTransport);
    if (!t) throw new Error('configureWebRtc: this node has no WebRTC transport (start it with webrtc enabled)');
    t.configure(patch);
  }

  // Keep-alive knobs at run time; also driven by tab visibility in a page.
  setKeepAlive(intervalMs: number, timeoutMs?: number): void {
    this.mustRun('setKeepAlive');
    const timeout = timeoutMs ?? this.options.keepAlive?.timeoutMs ?? 60_000;
    this.input(() => this.core!.setKeepAlive(this.handle, intervalMs, Math.max(timeout, intervalMs)));
  }

  // The visibility hook: hidden tabs ping more often (their timers are throttled).
  setHidden(hidden: boolean): void {
    this.hiddenValue = hidden;
    if (!this.running) return;
    const ka = this.options.keepAlive ?? {};
    this.setKeepAlive(hidden ? (ka.hiddenIntervalMs ?? 10_000) : (ka.visibleIntervalMs ?? 25_000));
  }

  // For transports that accept links (WebRTC DataChannels opened by a peer):
  // registers the link with the engine and returns the events to feed it.
  acceptLink(remote: string, transport: TransportLink, kind = /^([a-z]+):/.exec(remote)?.[1] ?? 'accepted'): LinkEvents {
    this.mustRun('acceptLink');
    const core = this.core!;
    const state: LinkState = { transport, kind, address: remote };
    let id = 0;
    this.input(() => {
      id = core.linkAccepted(this.handle, remote, now());
      this.links.set(id, state);
    });
    return this.linkEvents(() => id, state);
  }

  // ---- internals -----------------------------------------------------------

  private transportHost(): TransportHost {
    return {
      localId: this.idValue,
      sendSignal: (to, data) => this.sendSignal(to, data),
      acceptLink: (remote, link, kind) => this.acceptLink(remote, link, kind),
      log: (level, text) => this.log(level, text),
    };
  }

  private stoppedStatus(): Status {
    return {
      healthy: false, reasons: [this.state === 'stopped' ? 'node is stopped' : 'node has not started'],
      role: this.role, id: this.id, build_id: '', protocol: { min: 0, max: 0 }, uptime_s: 0, links: 0,
      query_links: 0, routing_table_size: 0, stored_values: 0, stored_bytes: 0, last_lookup_age_ms: null,
      last_self_lookup_ok: false, keepalive: { interval_ms: 0, timeout_ms: 0 }, refusals: [],
    };
  }

  private mustRun(what: string): void {
    if (!this.running) throw new Error(`YzNode.${what}: node is not running (call start() first)`);
  }

  private async resolveIdentity(crypto: CryptoProvider): Promise<Identity> {
    const given = this.options.identity;
    if (given instanceof Identity) return given;
    if (given instanceof Uint8Array) return Identity.fromSeed(crypto, given);
    if (inBrowserPage()) return loadBrowserIdentity(crypto, { scope: given ?? 'origin' });
    if (given === 'origin' || given === 'tab') {
      throw new Error(`identity scope '${given}' needs a browser; in Node.js use loadFileIdentity() or 'ephemeral'`);
    }
    return Identity.generate(crypto);
  }

  private configText(identity: Identity, slot: number): string {
    const e = this.options.engine ?? {};
    const lines = [`role=${this.role}`, `signer_slot=${slot}`, ...this.options.seeds.map((s) => `seed=${s}`)];
    lines.push(`public_key=${Array.from(identity.publicKey, (b) => b.toString(16).padStart(2, '0')).join('')}`);
    const add = (key: string, v: number | string | boolean | undefined) => {
      if (v === undefined) return;
      if (typeof v === 'string' && /[\n\r]/.test(v)) throw new Error(`engine option ${key} contains a line break`);
      lines.push(`${key}=${typeof v === 'boolean' ? (v ? 1 : 0) : v}`);
    };
    add('k', e.k);
    add('alpha', e.alpha);
    add('get_quorum', e.getQuorum);
    add('min_links', e.minLinks);
    add('max_links', e.maxLinks);
    add('max_query_links', e.maxQueryLinks);
    add('request_timeout', e.requestTimeoutMs);
    add('routed_request_timeout', e.routedRequestTimeoutMs);
    add('handshake_timeout', e.handshakeTimeoutMs);
    add('maintenance_interval', e.maintenanceIntervalMs);
    add('self_lookup_interval', e.selfLookupIntervalMs);
    add('query_link_idle', e.queryLinkIdleMs);
    add('republish_interval', e.republishIntervalMs);
    add('default_ttl_seconds', e.defaultTtlSeconds);
    add('storage_max_bytes', e.storageMaxBytes);
    add('storage_max_values', e.storageMaxValues);
    add('metrics', e.metrics);
    add('build_id', e.buildId);
    add('use_relays', e.useRelays);
    add('direct_retry_interval', e.directRetryIntervalMs);
    const ka = this.options.keepAlive ?? {};
    add('keepalive_interval', ka.visibleIntervalMs);
    add('keepalive_timeout', ka.timeoutMs);
    if (this.webrtc) lines.push('webrtc=1');
    for (const s of this.options.seeds) {
      if (/[\n\r]/.test(s)) throw new Error('a seed address contains a line break');
    }
    return lines.join('\n');
  }

  private followVisibility(): void {
    const doc = (globalThis as { document?: Document }).document;
    const follow = this.options.keepAlive?.followVisibility ?? true;
    if (!doc || !follow) return;
    this.visibilityHandler = () => this.setHidden(doc.visibilityState === 'hidden');
    doc.addEventListener('visibilitychange', this.visibilityHandler);
    if (doc.visibilityState === 'hidden') this.setHidden(true);
  }

  private operation<T>(
    name: string,
    call: (op: number, t: number) => void,
    convert: (result: Record<string, unknown>, bytes: Uint8Array) => T = (r) => r as unknown as T,
  ): Promise<T> {
    if (!this.running) return Promise.reject(new Error(`YzNode.${name}: node is not running (call start() first)`));
    const op = this.nextOp++;
    return new Promise<T>((resolve) => {
      this.ops.set(op, (entry, blob) => resolve(convert(entry.result, blob.slice(entry.off, entry.off + entry.len))));
      this.input(() => call(op, now()));
    });
  }

  private emit<K extends keyof YzNodeEvents>(event: K, payload: YzNodeEvents[K]): void {
    const set = this.listeners.get(event) as Set<Listener<YzNodeEvents[K]>> | undefined;
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        // A listener's bug must not break the node (DESIGN rule 7's spirit).
        console.error(`yz: a '${event}' listener threw:`, err);
      }
    }
  }

  private log(level: 'debug' | 'info' | 'warn', text: string): void {
    if (LEVELS[level] >= this.logLevel) {
      const line = `[yz ${this.id.slice(0, 8)}] ${text}`;
      if (level === 'warn') console.warn(line);
      else console.log(line);
    }
    this.emit('log', { level, text });
  }

  // Runs one engine input, then carries out the outbox. Inputs arriving while
  // the outbox is being carried out wait their turn.
  private input(fn: () => void): void {
    if (this.pumping) {
      this.queued.push(fn);
      return;
    }
    this.pumping = true;
    try {
      fn();
      this.pump();
      while (this.queued.length > 0) {
        const next = this.queued.shift()!;
        if (this.handle === 0) continue;
        next();
        this.pump();
      }
    } finally {
      this.pumping = false;
    }
    if (this.handle !== 0) {
      this.watch();
      this.arm();
    }
  }

  private pump(): void {
    if (this.handle === 0 || !this.core) return;
    const { entries, blob } = this.core.take(this.handle);
    for (const e of entries) {
      switch (e.a) {
        case 'send':
          this.links.get(e.link)?.transport?.send(blob.subarray(e.off, e.off + e.len));
          break;
        case 'dial':
          this.dial(e.link, e.address);
          break;
        case 'close': {
          const state = this.links.get(e.link);
          if (!state) break;
          this.links.delete(e.link);
          state.closeReason = `closed by this node: ${e.code} ${closeCodeName(e.code)}: ${e.reason}`;
          this.lastClose.set(e.link, state.closeReason);
          state.transport?.close(e.code, e.reason);
          const finished = state.transport?.finished;
          if (finished) {
            this.finishing.add(finished);
            void finished.then(() => this.finishing.delete(finished));
          }
          break;
        }
        case 'log':
          this.log(e.level, e.text);
          break;
        case 'signal':
          for (const t of this.transports) t.signal?.(e.from, e.data);
          break;
        case 'done': {
          const settle = this.ops.get(e.op);
          this.ops.delete(e.op);
          settle?.(e, blob);
          break;
        }
      }
    }
  }

  private readonly lastClose = new Map<number, string>();

  private dial(link: number, address: string): void {
    const state: LinkState = { transport: null, kind: '', address };
    this.links.set(link, state);
    const transport = this.transports.find((t) => t.canDial(address));
    if (!transport) {
      this.links.delete(link);
      const reason = `no transport can dial ${address} (have: ${this.transports.map((t) => t.name).join(', ')})`;
      this.queued.push(() => this.core!.linkClosed(this.handle, link, reason, now()));
      return;
    }
    state.kind = transport.name;
    state.transport = transport.dial(address, this.linkEvents(() => link, state));
  }

  private linkEvents(idOf: () => number, state: LinkState): LinkEvents {
    // Events of a link the engine already closed are ignored.
    const live = () => this.handle !== 0 && this.links.get(idOf()) === state;
    return {
      open: () => {
        if (live()) this.input(() => this.core!.linkConnected(this.handle, idOf(), now()));
      },
      frame: (data) => {
        if (live()) this.input(() => this.core!.frameReceived(this.handle, idOf(), data, now()));
      },
      tooLarge: (size) => {
        if (live()) this.input(() => this.core!.frameTooLarge(this.handle, idOf(), size, now()));
      },
      violation: (code, reason) => {
        if (!live()) return;
        this.links.delete(idOf());
        state.closeReason = reason;
        this.lastClose.set(idOf(), reason);
        this.log('warn', `closed link ${idOf()} (${code} ${closeCodeName(code)}): ${reason}`);
        this.input(() => this.core!.linkClosed(this.handle, idOf(), reason, now()));
      },
      closed: (reason) => {
        if (!live()) return;
        this.links.delete(idOf());
        state.closeReason = reason;
        this.lastClose.set(idOf(), reason);
        this.input(() => this.core!.linkClosed(this.handle, idOf(), reason, now()));
      },
    };
  }

  // A link's transport name; a relayed link lives inside the engine (its
  // frames travel in RelayData over the link to the relay server).
  private linkKind(link: number, relayed: boolean): string {
    return relayed ? 'relay' : this.links.get(link)?.kind ?? 'unknown';
  }

  private arm(): void {
    if (this.handle === 0) return;
    const deadline = this.core!.nextDeadline(this.handle);
    if (deadline < 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = -1;
      return;
    }
    if (this.timer && this.timerAt === deadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    const delay = Math.min(Math.max(0, deadline - now()), 0x7fffffff);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = -1;
      if (this.handle !== 0) this.input(() => this.core!.tick(this.handle, now()));
    }, delay);
  }

  private watch(): void {
    const text = this.core!.watch(this.handle, now());
    if (text === this.lastWatch) {
      for (const link of this.lastClose.keys()) if (!this.ready.has(link)) this.lastClose.delete(link);
      return;
    }
    this.lastWatch = text;
    const w = JSON.parse(text) as { healthy: boolean; reasons: string[]; ready: [number, string, string, boolean, string, boolean][] };
    const seen = new Map<number, LinkEvent>();
    for (const [link, peer, role, kept, address, relayed] of w.ready) {
      const ev: LinkEvent = { link, transport: this.linkKind(link, relayed), peer, role, address, kept };
      seen.set(link, ev);
      if (!this.ready.has(link)) this.emit('link-up', ev);
    }
    for (const [link, ev] of this.ready) {
      if (!seen.has(link)) {
        const reason = this.lastClose.get(link) ?? 'closed';
        this.emit('link-down', { ...ev, reason });
      }
    }
    this.lastClose.clear();
    this.ready = seen;
    this.setHealth({ healthy: w.healthy, reasons: w.reasons });
  }

  private setHealth(h: HealthEvent): void {
    if (h.healthy === this.health.healthy && h.reasons.join('\n') === this.health.reasons.join('\n')) return;
    this.health = h;
    if (h.healthy && this.healthyAt < 0) this.healthyAt = now();
    this.emit('health', h);
  }
}
