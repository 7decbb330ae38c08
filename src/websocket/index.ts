// WebSockets: the HTTP/1.1 upgrade and the sessions the front holds (upgrade.ts, session.ts,
// handshake.ts, private), and the gateway's bridge to an ASGI worker (bridge.ts).

export { WebSocketUpgrades, type WebSocketOptions } from './upgrade.js';
export { refusal, type Handshake } from './handshake.js';
export { WebSocketBridge, type BridgeHost } from './bridge.js';
