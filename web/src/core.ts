// Loads the WebAssembly core (dist/yz_core.js + yz_core.wasm, built by
// scripts/build-wasm.sh from src/core) and wraps its C-style API
// (web/src/cpp/wasm_bridge.cpp) with typed methods. One module instance serves
// every YzNode of a page or process; each node is a handle inside it.
import type { CryptoProvider } from './crypto.js';

interface EmscriptenModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  [name: string]: unknown;
}

type Fn = (...args: number[]) => number;

// One entry of the outbox drained after every input call.
export type OutboxEntry =
  | { a: 'send'; link: number; off: number; len: number }
  | { a: 'dial'; link: number; address: string }
  | { a: 'close'; link: number; code: number; reason: string }
  | { a: 'log'; level: 'debug' | 'info' | 'warn'; text: string }
  // WebRTC signaling from peer `from` (64 hex), authenticated by the core.
  | { a: 'signal'; from: string; data: string }
  | { a: 'done'; op: number; result: Record<string, unknown>; off: number; len: number };

export interface Outbox {
  entries: OutboxEntry[];
  blob: Uint8Array; // a copy: frames and values referenced by off/len
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function isNodeJs(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return !!p?.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

// Host functions the bridge imports (EM_JS): crypto from JS, keys by slot.
class Host {
  private readonly keys = new Map<number, Uint8Array>();
  private nextSlot = 1;
  constructor(readonly crypto: CryptoProvider) {}
  addKey(secretKey: Uint8Array): number {
    const slot = this.nextSlot++;
    this.keys.set(slot, secretKey);
    return slot;
  }
  dropKey(slot: number): void {
    this.keys.delete(slot);
  }
  verify = (key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
    this.crypto.verify(key, message, signature);
  sign = (slot: number, message: Uint8Array, out: Uint8Array): void => {
    const key = this.keys.get(slot);
    if (!key) throw new Error(`yz: no signing key in slot ${slot}`);
    out.set(this.crypto.sign(key, message));
  };
  random = (out: Uint8Array): void => this.crypto.randomBytes(out);
  seal = (key: Uint8Array, nonce: Uint8Array, message: Uint8Array, out: Uint8Array): boolean => {
    const sealed = this.crypto.seal(key, nonce, message);
    if (sealed.length !== out.length) return false;
    out.set(sealed);
    return true;
  };
  open = (key: Uint8Array, nonce: Uint8Array, message: Uint8Array, out: Uint8Array): boolean => {
    const opened = this.crypto.open(key, nonce, message);
    if (!opened || opened.length !== out.length) return false;
    out.set(opened);
    return true;
  };
  agree = (slot: number, peer: Uint8Array, out: Uint8Array): boolean => {
    const key = this.keys.get(slot);
    if (!key) throw new Error(`yz: no signing key in slot ${slot}`);
    const shared = this.crypto.agree(key, peer);
    if (!shared) return false;
    out.set(shared);
    return true;
  };
}

export class Core {
  readonly maxFrameSize: number;
  readonly maxValueSize: number;
  private readonly fn: Record<string, Fn> = {};

  constructor(
    private readonly m: EmscriptenModule,
    readonly host: Host,
    readonly loadMs: number,
  ) {
    for (const key of Object.keys(m)) {
      if (key.startsWith('_yz_')) this.fn[key.slice(4)] = m[key] as Fn;
    }
    this.maxFrameSize = this.call('max_frame_size');
    this.maxValueSize = this.call('max_value_size');
  }

  // Bytes of wasm linear memory (not part of the JS heap).
  get memoryBytes(): number {
    return this.m.HEAPU8.length;
  }

  get crypto(): CryptoProvider {
    return this.host.crypto;
  }

  private call(name: string, ...args: number[]): number {
    const f = this.fn[name];
    if (!f) throw new Error(`yz: the wasm core lacks ${name}: rebuild web/dist`);
    return f(...args);
  }

  // Runs fn with `bytes` copied into wasm memory.
  private withBytes<T>(bytes: Uint8Array, fn: (ptr: number, len: number) => T): T {
    const ptr = this.m._malloc(Math.max(1, bytes.length));
    this.m.HEAPU8.set(bytes, ptr);
    try {
      return fn(ptr, bytes.length);
    } finally {
      this.m._free(ptr);
    }
  }
  private withText<T>(text: string, fn: (ptr: number, len: number) => T): T {
    return this.withBytes(encoder.encode(text), fn);
  }
  private text(len: number): string {
    const ptr = this.call('text_ptr');
    return decoder.decode(this.m.HEAPU8.subarray(ptr, ptr + len));
  }

  // ---- node lifecycle ----
  create(config: string): number {
    const handle = this.withText(config, (p, n) => this.call('create', p, n));
    if (handle === 0) throw new Error(this.text(this.call('text_len')));
    return handle;
  }
  destroy(h: number): void {
    this.call('destroy', h);
  }
  nodeId(h: number): string {
    return this.text(this.call('node_id', h));
  }
  start(h: number, now: number): void {
    this.call('start', h, now);
  }
  stop(h: number, now: number): void {
    this.call('stop', h, now);
  }
  linkAccepted(h: number, remote: string, now: number): number {
    return this.withText(remote, (p, n) => this.call('link_accepted', h, p, n, now));
  }
  linkConnected(h: number, link: number, now: number): void {
    this.call('link_connected', h, link, now);
  }
  linkClosed(h: number, link: number, reason: string, now: number): void {
    this.withText(reason, (p, n) => this.call('link_closed', h, link, p, n, now));
  }
  frameReceived(h: number, link: number, frame: Uint8Array, now: number): void {
    this.withBytes(frame, (p, n) => this.call('frame_received', h, link, p, n, now));
  }
  frameTooLarge(h: number, link: number, size: number, now: number): void {
    this.call('frame_too_large', h, link, size, now);
  }
  tick(h: number, now: number): void {
    this.call('tick', h, now);
  }
  // -1 when nothing is scheduled.
  nextDeadline(h: number): number {
    return this.call('next_deadline', h);
  }
  setKeepAlive(h: number, intervalMs: number, timeoutMs: number): void {
    this.call('set_keepalive', h, intervalMs, timeoutMs);
  }

  take(h: number): Outbox {
    const count = this.call('take', h);
    if (count === 0) return { entries: [], blob: new Uint8Array(0) };
    const jp = this.call('out_json_ptr', h);
    const jl = this.call('out_json_len', h);
    const entries = JSON.parse(decoder.decode(this.m.HEAPU8.subarray(jp, jp + jl))) as OutboxEntry[];
    const bp = this.call('out_blob_ptr', h);
    const bl = this.call('out_blob_len', h);
    return { entries, blob: this.m.HEAPU8.slice(bp, bp + bl) };
  }

  // ---- API (results arrive as `done` outbox entries) ----
  findNode(h: number, op: number, targetHex: string, now: number): void {
    this.withText(targetHex, (p, n) => this.call('find_node', h, op, p, n, now));
  }
  put(h: number, op: number, key: Uint8Array, value: Uint8Array, ttlSeconds: number, now: number): void {
    this.withBytes(key, (kp, kn) =>
      this.withBytes(value, (vp, vn) => this.call('put', h, op, kp, kn, vp, vn, ttlSeconds, now)),
    );
  }
  get(h: number, op: number, key: Uint8Array, now: number): void {
    this.withBytes(key, (p, n) => this.call('get', h, op, p, n, now));
  }
  ping(h: number, op: number, idHex: string, now: number): void {
    this.withText(idHex, (p, n) => this.call('ping', h, op, p, n, now));
  }
  // WebRTC signaling to a peer; the `done` result is { ok, error, path, elapsed_ms }.
  signal(h: number, op: number, toHex: string, data: string, now: number): void {
    this.withText(toHex, (ip, il) => this.withText(data, (dp, dl) => this.call('signal', h, op, ip, il, dp, dl, now)));
  }
  status(h: number, now: number, detail: boolean): string {
    return this.text(this.call('status', h, now, detail ? 1 : 0));
  }
  watch(h: number, now: number): string {
    return this.text(this.call('watch', h, now));
  }
  // SHA-256 as 64 hex digits (the core's own implementation).
  sha256Hex(data: Uint8Array): string {
    return this.withBytes(data, (p, n) => this.text(this.call('sha256', p, n)));
  }
  keyId(h: number, key: Uint8Array): string {
    return this.withBytes(key, (p, n) => this.text(this.call('key_id', h, p, n)));
  }

  // Golden-vector hook: decode a frame and report the message or the error.
  codecCheck(frame: Uint8Array): Record<string, unknown> {
    return JSON.parse(this.withBytes(frame, (p, n) => this.text(this.call('codec_check', p, n))));
  }
}

let corePromise: Promise<Core> | null = null;

export interface LoadCoreOptions {
  crypto: CryptoProvider;
  // Where yz_core.js / yz_core.wasm live; default: next to this file.
  baseUrl?: string | URL;
}

// Loads the wasm core once per page or process.
export function loadCore(options: LoadCoreOptions): Promise<Core> {
  // One module serves every node; its host crypto is the first one given.
  if (corePromise) return corePromise;
  corePromise = (async () => {
    const started = performance.now();
    const base = options.baseUrl ? new URL('./', options.baseUrl) : new URL('./', import.meta.url);
    const jsUrl = new URL('yz_core.js', base);
    const wasmUrl = new URL('yz_core.wasm', base);
    const host = new Host(options.crypto);
    const moduleArg: Record<string, unknown> = {
      yzHost: host,
      locateFile: (path: string) => new URL(path, base).href,
      print: (text: string) => console.log(text),
      printErr: (text: string) => console.warn(text),
    };
    if (isNodeJs()) {
      const fs = await import('node:fs/promises');
      moduleArg.wasmBinary = await fs.readFile(wasmUrl);
    }
    const factory = (await import(/* @vite-ignore */ jsUrl.href)) as {
      default: (arg: Record<string, unknown>) => Promise<EmscriptenModule>;
    };
    const m = await factory.default(moduleArg);
    return new Core(m, host, performance.now() - started);
  })();
  corePromise.catch(() => {
    corePromise = null;
  });
  return corePromise;
}
