// Transports carry frames for the engine: one protocol message per transport
// message, in order, without loss (docs/protocol.md section 1). The node picks
// a transport per address (canDial); WebSocket is the one for ws:// and wss://
// servers; WebRtcTransport (webrtc.ts) is the one for webrtc:<id> peers: it
// signals through the node (TransportHost) and hands channels the peer opened
// to YzNode.acceptLink(), which returns the LinkEvents to feed.

// What a transport reports for one link. Call at most one of closed/violation
// last; nothing after it.
export interface LinkEvents {
  // The transport is connected (dialled links only; accepted links start open).
  open(): void;
  // One complete binary message.
  frame(data: Uint8Array): void;
  // A message above the frame limit was refused unread.
  tooLarge(size: number): void;
  // The peer broke the transport contract (e.g. a text message); the
  // transport has already closed with `code` and `reason`.
  violation(code: number, reason: string): void;
  // The link is gone (including a failed dial), in plain words.
  closed(reason: string): void;
}

export interface TransportLink {
  send(frame: Uint8Array): void;
  // Close with a yz close code (4000-4999) and a reason (at most 123 UTF-8 bytes).
  close(code: number, reason: string): void;
  // Settles when the underlying connection is fully gone (optional; lets
  // stop() wait for goodbyes to leave before a process exits).
  readonly finished?: Promise<void>;
  // What carries the link, for peers() and diagnostics.
  info?(): TransportLinkInfo;
}

// `transport` names the kind ('websocket', 'webrtc'); `state` is the
// WebSocket or DataChannel readyState; transports may add fields.
export interface TransportLinkInfo {
  transport: string;
  state: string;
  [field: string]: unknown;
}

// Completion of YzNode.sendSignal: delivered over an open link to the peer
// ('link') or as a routed message through the overlay ('routed').
export interface SignalResult {
  ok: boolean;
  error: string;
  path: string;
}

// What a node offers a transport that signals through it and accepts links
// (WebRTC). Given by YzNode.start() through Transport.attach().
export interface TransportHost {
  readonly localId: string; // 64 hex
  // Sends an authenticated signaling message (at most 16384 UTF-8 bytes) to a peer.
  sendSignal(toHex: string, data: string): Promise<SignalResult>;
  // Registers a link the peer opened; returns the events to feed.
  acceptLink(remote: string, link: TransportLink, kind: string): LinkEvents;
  log(level: 'debug' | 'info' | 'warn', text: string): void;
}

export interface Transport {
  readonly name: string;
  canDial(address: string): boolean;
  dial(address: string, events: LinkEvents): TransportLink;
  // Optional, for transports that signal through the node (WebRTC):
  attach?(host: TransportHost): void; // the node started
  detach?(reason: string): void; // the node stopped: drop everything
  signal?(from: string, data: string): void; // a signaling message from node `from`
}

// ---- WebSocket -------------------------------------------------------------

// The subset of the WHATWG WebSocket API used here; satisfied by the browser's
// WebSocket and by the `ws` package in Node.js.
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: { message?: string; error?: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WebSocketTransportOptions {
  maxFrameSize?: number; // default 131072 (kMaxFrameSize)
  // Close a link whose peer does not read: queued bytes above this.
  maxQueuedBytes?: number; // default 8 MiB
  // Rewrites a transport error message in plain words (e.g. the HTTP status a
  // proxy answered instead of 101); undefined keeps the message.
  describeError?: (message: string) => string | undefined;
}

const CLOSE_NAMES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1006: 'connection lost without a close frame',
  1009: 'message too big',
  1011: 'server error',
  1015: 'TLS handshake failed',
  4000: 'normal',
  4001: 'incompatible_version',
  4002: 'auth_failed',
  4003: 'malformed_frame',
  4004: 'handshake_timeout',
  4005: 'duplicate_link',
  4006: 'wrong_peer',
  4007: 'protocol_violation',
  4008: 'frame_too_large',
  4009: 'surplus_link',
  4010: 'keepalive_timeout',
  4011: 'self_link',
  4012: 'role_refused',
};
export function closeCodeName(code: number): string {
  return CLOSE_NAMES[code] ?? 'unknown';
}

// Cuts text to at most `max` UTF-8 bytes at a character boundary.
export function truncateUtf8(text: string, max: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return text;
  let cut = max;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return new TextDecoder().decode(bytes.subarray(0, cut));
}

const OPEN = 1;

export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  private readonly maxFrameSize: number;
  private readonly maxQueuedBytes: number;

  constructor(
    private readonly factory: WebSocketFactory,
    private readonly options: WebSocketTransportOptions = {},
  ) {
    this.maxFrameSize = options.maxFrameSize ?? 128 * 1024;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 8 * 1024 * 1024;
  }

  canDial(address: string): boolean {
    return /^wss?:\/\//i.test(address);
  }

  dial(address: string, events: LinkEvents): TransportLink {
    let done = false; // events.closed/violation delivered, or we closed it ourselves
    let opened = false;
    let lastError = '';
    const finish = (reason: string) => {
      if (done) return;
      done = true;
      events.closed(reason);
    };
    let settle: () => void = () => {};
    const finished = new Promise<void>((resolve) => (settle = resolve));
    let socket: WebSocketLike;
    try {
      socket = this.factory(address);
    } catch (err) {
      // Bad URL, or a port the browser blocks: fail asynchronously like a refused dial.
      const why = `cannot open a WebSocket to ${address}: ${(err as Error)?.message ?? err}`;
      queueMicrotask(() => finish(why));
      settle();
      return { send: () => {}, close: () => (done = true), finished };
    }
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      if (done) return;
      opened = true;
      events.open();
    };
    socket.onerror = (ev) => {
      const message = ev?.message || (ev?.error as Error | undefined)?.message || '';
      if (message) lastError = this.options.describeError?.(message) ?? message;
    };
    socket.onmessage = (ev) => {
      if (done) return;
      const data = ev.data;
      if (typeof data === 'string') {
        done = true;
        const reason = 'text frames are not part of the yz protocol: send binary frames';
        socket.close(4007, reason);
        events.violation(4007, `${address} sent a text frame; ${reason}`);
        return;
      }
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (!bytes) return;
      if (bytes.length > this.maxFrameSize) {
        events.tooLarge(bytes.length);
        return;
      }
      events.frame(bytes);
    };
    socket.onclose = (ev) => {
      settle();
      if (done) return;
      if (!opened) {
        finish(`could not open a WebSocket to ${address}` + (lastError ? `: ${lastError}` : ` (close code ${ev.code})`));
        return;
      }
      if (ev.code === 1006) {
        finish(`connection to ${address} lost without a WebSocket close: the peer stopped or the network dropped` +
          (lastError ? ` (${lastError})` : ''));
      } else if (ev.code === 1009) {
        finish(`${address} sent a message above the ${this.maxFrameSize}-byte frame limit`);
      } else {
        finish(`peer closed: ${ev.code} ${closeCodeName(ev.code)}: ${ev.reason || '(no reason given)'}`);
      }
    };
    return {
      send: (frame) => {
        if (done || socket.readyState !== OPEN) return;
        if (socket.bufferedAmount > this.maxQueuedBytes) {
          const reason = `peer is not reading: more than ${this.maxQueuedBytes} bytes queued`;
          socket.close(4000, reason);
          finish(`link to ${address} closed by this node: ${reason}`);
          return;
        }
        socket.send(frame);
      },
      close: (code, reason) => {
        if (done) return;
        done = true;
        try {
          socket.close(code, truncateUtf8(reason, 123));
        } catch {
          socket.close();
        }
      },
      finished,
      info: () => ({ transport: 'websocket', state: ['connecting', 'open', 'closing', 'closed'][socket.readyState] ?? 'closed' }),
    };
  }
}

// The browser's own WebSocket (also Node.js 22+, where it is global and stable).
export function globalWebSocketFactory(): WebSocketFactory | null {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  return Ctor ? (url) => new Ctor(url) : null;
}
