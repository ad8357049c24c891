// Node.js entry ('yz-web/node'): the `ws` WebSocket client as transport,
// WebRTC through the optional node-datachannel package, identities kept in a
// file (the same hex seed format as `yz-node --identity`), and
// createNodeClient() for headless clients.
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import WebSocket from 'ws';
import { Identity } from './identity.js';
import { fromHex, toHex, loadSodiumCrypto, type CryptoProvider } from './crypto.js';
import { WebSocketTransport, type WebSocketLike } from './transport.js';
import { WebRtcTransport, type PeerConnectionFactory, type WebRtcOptions } from './webrtc.js';
import { YzNode, type YzNodeOptions } from './yz-node.js';

export * from './index.js';

const MAX_FRAME = 128 * 1024;

// Plain words for the errors `ws` reports on a failed dial.
export function describeWsError(message: string): string | undefined {
  const status = /Unexpected server response: (\d+)/.exec(message);
  if (status) {
    return `the server answered HTTP ${status[1]} instead of 101 Switching Protocols: ` +
      'this address does not reach a yz WebSocket endpoint (check the URL path, and that a reverse proxy ' +
      'forwards the Upgrade and Connection headers)';
  }
  if (/ECONNREFUSED/.test(message)) return `nothing listens there (${message})`;
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return `the host name does not resolve (${message})`;
  if (/Max payload size exceeded/.test(message)) return `the peer sent a frame above ${MAX_FRAME} bytes`;
  return undefined;
}

export function nodeWebSocketTransport(options: { handshakeTimeoutMs?: number } = {}): WebSocketTransport {
  return new WebSocketTransport(
    (url) =>
      new WebSocket(url, {
        maxPayload: MAX_FRAME,
        perMessageDeflate: false,
        handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      }) as unknown as WebSocketLike,
    { maxFrameSize: MAX_FRAME, describeError: describeWsError },
  );
}

// Loads the 32-byte seed (64 hex digits) from `path`, creating it with mode
// 0600 when missing: the same file format as yz-node --identity.
export async function loadFileIdentity(path: string, crypto?: CryptoProvider): Promise<Identity> {
  const c = crypto ?? (await loadSodiumCrypto());
  let text: string | null = null;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read identity file ${path}: ${(err as Error).message}`);
    }
  }
  if (text !== null) {
    const seed = fromHex(text.trim());
    if (!seed || seed.length !== 32) {
      throw new Error(`identity file ${path} must hold 64 hex digits (a 32-byte Ed25519 seed)`);
    }
    return Identity.fromSeed(c, seed, `identity file ${path}`);
  }
  const identity = Identity.generate(c, `new identity file ${path}`);
  await fs.mkdir(dirname(path), { recursive: true });
  await fs.writeFile(path, toHex(identity.seed) + '\n', { mode: 0o600, flag: 'wx' });
  return identity;
}

// WebRTC for Node.js: node-datachannel's RTCPeerConnection (an optional
// dependency: npm install node-datachannel@^0.33). Loaded on first use.
export async function nodePeerConnectionFactory(): Promise<PeerConnectionFactory> {
  const specifier = 'node-datachannel/polyfill';
  let mod: { RTCPeerConnection?: new (config: RTCConfiguration) => RTCPeerConnection };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    throw new Error('WebRTC in Node.js needs the node-datachannel package (npm install node-datachannel@^0.33): ' +
      (err as Error).message);
  }
  const Ctor = mod.RTCPeerConnection;
  if (!Ctor) throw new Error('node-datachannel/polyfill has no RTCPeerConnection: install node-datachannel@^0.33');
  return (config) => new Ctor(config);
}

export async function nodeWebRtcTransport(options: WebRtcOptions = {}): Promise<WebRtcTransport> {
  const createPeerConnection = options.createPeerConnection ?? (await nodePeerConnectionFactory());
  return new WebRtcTransport({ ...options, createPeerConnection });
}

export interface NodeClientOptions extends Omit<YzNodeOptions, 'transports' | 'identity'> {
  identity?: Identity | Uint8Array | 'ephemeral';
  identityFile?: string; // keep the identity in this file (created if missing)
}

// A headless client (role "client" unless told otherwise), started.
export async function createNodeClient(options: NodeClientOptions): Promise<YzNode> {
  const crypto = options.crypto ?? (await loadSodiumCrypto());
  const identity = options.identityFile ? await loadFileIdentity(options.identityFile, crypto) : options.identity;
  const transports = [nodeWebSocketTransport({ handshakeTimeoutMs: options.engine?.handshakeTimeoutMs })];
  const webrtc = options.webrtc ?? false;
  const node = new YzNode({
    ...options,
    crypto,
    role: options.role ?? 'client',
    identity: identity === 'ephemeral' ? undefined : identity,
    transports: webrtc === false ? transports : [...transports, await nodeWebRtcTransport(webrtc === true ? {} : webrtc)],
  });
  await node.start();
  return node;
}
