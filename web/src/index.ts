// yz-web: a yz DHT peer for browsers and Node.js. The protocol engine is the
// C++ core compiled to WebAssembly; this package supplies transports, timers,
// identity and crypto around it. Node.js-only helpers live in 'yz-web/node'.
export { YzNode } from './yz-node.js';
export type {
  YzNodeOptions, YzNodeEvents, EngineOptions, KeepAliveOptions, Role, LogLevel, Status, Peers, LinkInfo,
  RoutingEntry, Contact, LookupResult, PutResult, GetResult, PingResult, LinkEvent, HealthEvent, LogEvent, Refusal,
} from './yz-node.js';
export { Identity, loadBrowserIdentity } from './identity.js';
export type { BrowserIdentityScope, BrowserIdentityOptions } from './identity.js';
export { loadSodiumCrypto, toHex, fromHex } from './crypto.js';
export type { CryptoProvider, KeyPair } from './crypto.js';
export { WebSocketTransport, globalWebSocketFactory, closeCodeName, truncateUtf8 } from './transport.js';
export type {
  Transport, TransportLink, TransportLinkInfo, TransportHost, SignalResult, LinkEvents, WebSocketLike, WebSocketFactory,
  WebSocketTransportOptions,
} from './transport.js';
export { WebRtcTransport, webrtcAddress } from './webrtc.js';
export type { WebRtcOptions, PeerConnectionFactory } from './webrtc.js';
export { loadCore, Core } from './core.js';
