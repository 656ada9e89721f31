// Type declarations of omega-client.js, the client of the omega (CL Omega) signaling server.
// They match the module exactly; the JSDoc there explains the why.

/**
 * The error every promise of the module rejects with.
 *
 * `code`: the server's reply opcode ('LOBBY_FULL', 'PASSWORD_FAIL', 'NOT_HOST', 'WARNING',
 * 'VIOLATION', 'TOKEN_INVALID', ...), 'HTTP_<status>' for the HTTP API, 'TIMEOUT' (no reply
 * within options.timeout), 'DISCONNECTED' (socket lost while waiting) or 'CLOSED' (client closed
 * or not connected).
 */
export class OmegaError extends Error {
  constructor(code: string, payload?: unknown, message?: string);
  readonly name: 'OmegaError';
  /** The reply opcode or one of the module's own codes. */
  code: OmegaErrorCode;
  /** The reply's payload, if any (a WARNING/VIOLATION reason, the HTTP "error" text). */
  payload: unknown;
}

/** The codes an OmegaError can carry; any other reply opcode is possible too. */
export type OmegaErrorCode =
  | 'TIMEOUT' | 'DISCONNECTED' | 'CLOSED' | 'WARNING' | 'VIOLATION'
  | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_ORIGIN_MISMATCH' | 'SESSION_EXISTS'
  | 'CONFIG_REQUIRED' | 'ALREADY_HOST' | 'ALREADY_PEER' | 'LOBBY_EXISTS' | 'LOBBY_NOTFOUND'
  | 'LOBBY_LOCKED' | 'LOBBY_FULL' | 'PASSWORD_REQUIRED' | 'PASSWORD_FAIL'
  | 'NOT_HOST' | 'NOT_PEER' | 'PEER_INVALID'
  | `HTTP_${number}`
  | (string & {});

/** Creates an account: POST <server>/api/v0/register. Rejects 'HTTP_400' / 'HTTP_409' / 'HTTP_429' ... */
export function register(
  server: string,
  account: { username: string; email: string; password: string },
): Promise<{ id: string; username: string }>;

/** Logs in: POST <server>/api/v0/login; resolves with the session token. Rejects 'HTTP_401' ... */
export function login(server: string, credentials: { email: string; password: string }): Promise<string>;

/** 'ws://HOST:PORT/api/v0/signaling?ugi=UGI' for a server address (http->ws, https->wss). */
export function signalingUrl(server: string, ugi: string): string;

/** Connects and INITs; resolves after INIT_OK. */
export function connect(server: string, options: ConnectOptions): Promise<OmegaClient>;

export interface ReconnectOptions {
  /**
   * How many failed attempts before giving up (default 8). A SESSION_EXISTS answer within 400 s
   * of the loss does not count (the server may still hold the old socket until its idle
   * timeout); such retries come every ~maxDelay.
   */
  attempts?: number;
  /** ms before the first attempt, doubling per attempt (default 500). */
  minDelay?: number;
  /** ms the delay never exceeds (default 10000). */
  maxDelay?: number;
}

export interface ConnectOptions {
  /** The game's UGI (required unless the server URL has ?ugi=). */
  ugi?: string;
  /** A session token from login(). */
  token: string;
  /** The WebSocket class (default globalThis.WebSocket, which Node 22+ has; in Node 20 the `ws` package's). */
  WebSocket?: new (url: string) => any;
  /** The RTCPeerConnection class (default globalThis.RTCPeerConnection). */
  RTCPeerConnection?: new (configuration?: any) => any;
  /** Default: true when an RTCPeerConnection class is available. false: signaling only. */
  webrtc?: boolean;
  /** STUN/TURN servers for every RTCPeerConnection (default []). */
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  /** More RTCConfiguration fields, e.g. {iceTransportPolicy: 'relay'}. */
  rtcConfig?: Record<string, unknown>;
  /** ms to wait for a command's reply (default 15000; 0: forever). */
  timeout?: number;
  /** ms between KEEPALIVE pings (default 20000; 0: none). */
  keepalive?: number;
  /** Reconnect settings, or false for none (default {attempts: 8, minDelay: 500, maxDelay: 10000}). */
  reconnect?: ReconnectOptions | boolean;
  /**
   * Default true: ask the server to hold the session when the socket drops
   * (RESUMABLE); a reconnect within its window keeps the lobby, the role and
   * the WebRTC links ('resumed').
   */
  resume?: boolean;
  /** Default true: add the server's TURN servers (TURN_CREDENTIALS) to `iceServers`. */
  turn?: boolean;
}

/** This connection's account and game, from INIT_OK. */
export interface Me {
  id: string;
  user: string;
  game: string;
  developer: string;
}

/** A lobby member as the client knows it. */
export interface PeerInfo {
  id: string;
  user: string;
  /** Present when the member sent one. */
  pubkey?: string;
}

export interface HostAnnouncement {
  id: string;
  user: string;
  lobby_id: string;
  pubkey?: string;
}

export interface HostReclaim {
  id: string;
  user: string;
  lobby_id: string;
}

export interface LobbyInfo {
  lobby_id: string;
  /** Left out while the lobby is hostless. */
  lobby_host_id?: string;
  lobby_host_username?: string;
  max_peers: number;
  current_peers: number;
  locked: boolean;
  password_required: boolean;
}

export interface Frame {
  opcode: string;
  payload?: any;
  origin?: string;
  recipient?: string;
  listener?: string;
}

export interface HostOptions {
  /** The lobby id, 1–64 characters (code points); else host() rejects with a TypeError. */
  lobby: string;
  /** 0 (default) = unlimited; the host is not counted. */
  maxPeers?: number;
  /** At most 128 characters (code points); else host() rejects with a TypeError. */
  password?: string;
  /** When the host leaves, a peer becomes host instead of the lobby closing (default false). */
  reclaim?: boolean;
  /** With reclaim: peers may claim the host place with claimHost() (default false). */
  peersMayClaim?: boolean;
  pubkey?: string;
}

/** The events of an OmegaClient and the value each passes to its listeners. */
export interface OmegaEvents {
  new_host: HostAnnouncement;
  new_peer: PeerInfo;
  peer_gone: string;
  host_gone: string;
  host_reclaim: HostReclaim;
  lobby_close: string;
  relay: { opcode: 'MAKE_OFFER' | 'MAKE_ANSWER' | 'ICE'; from: string; payload: any };
  warning: any;
  frame: { dir: 'in' | 'out'; frame: Frame };
  channel: { peer: string; channel: RTCDataChannelLike };
  message: { peer: string; data: any };
  link: { peer: string; state: string };
  disconnected: { code: number; reason: string };
  /** `attempt` counts every try (SESSION_EXISTS retries too), so it can pass `attempts`. */
  reconnecting: { attempt: number; delay: number };
  /** `resumed`: the session went on (still in `lobby`); else `lobby` was left. */
  reconnected: { lobby: string | null; resumed: boolean };
  /** The server held the session: same id, lobby and role. */
  resumed: { lobby: string | null; role: 'host' | 'peer' | null; dropped: number };
  session_lost: { lobby: string; role: 'host' | 'peer'; reason: string };
  closed: { code: number; reason: string };
}

/** The part of RTCDataChannel the client and games use (a real RTCDataChannel in browsers). */
export interface RTCDataChannelLike {
  readonly label: string;
  readonly readyState: string;
  binaryType: string;
  /** Bytes queued to send; with bufferedAmountLowThreshold and 'bufferedamountlow', for flow control. */
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: any): void;
  close(): void;
  addEventListener(type: string, listener: (event: any) => void, options?: any): void;
  removeEventListener(type: string, listener: (event: any) => void, options?: any): void;
}

export class OmegaClient {
  /** Use connect(). */
  private constructor();

  /** This connection's account and game (null before INIT_OK). */
  readonly me: Me | null;
  /** The lobby this client hosts or is a peer of. */
  readonly lobby: string | null;
  readonly role: 'host' | 'peer' | null;
  /** The lobby's host (me.id when hosting); null when none or hostless. */
  readonly hostId: string | null;
  /** A host: its peers. A peer: the host only. The client's own map: do not change it. */
  readonly peers: ReadonlyMap<string, PeerInfo>;
  /** The open DataChannels, by member id. The client's own map: do not change it. */
  readonly channels: ReadonlyMap<string, RTCDataChannelLike>;
  /** Whether the socket is open and INIT'ed. */
  readonly connected: boolean;
  /** Whether the server holds this session if the socket drops. */
  readonly resumable: boolean;
  /** The iceServers new links use: the game's, then the server's TURN servers. */
  readonly iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>;

  /**
   * Creates a lobby and hosts it. A rejection with TIMEOUT does not mean it failed: a late
   * ACK_HOST still makes this client the host (the state follows every reply).
   */
  host(options: HostOptions): Promise<{ lobby_id: string }>;
  /**
   * Resolves with the ACK_PEER payload: the host. Rejects with a TypeError (nothing sent) for a
   * lobby id not of 1–64 characters or a password over 128. A rejection with TIMEOUT does not
   * mean it failed: a late ACK_PEER still makes this client a peer.
   */
  join(
    lobby: string,
    options?: { password?: string; pubkey?: string },
  ): Promise<{ lobby_id: string; id: string; user: string; pubkey?: string }>;
  /** The ids of the game's lobbies without a password. */
  lobbies(): Promise<string[]>;
  /** Rejects with a TypeError (nothing sent) for a lobby id not of 1–64 characters. */
  info(lobby: string): Promise<LobbyInfo>;
  claimHost(): Promise<HostReclaim>;
  transferHost(id: string): Promise<HostReclaim>;
  lock(): Promise<{ lobby_id: string; locked: boolean }>;
  unlock(): Promise<{ lobby_id: string; locked: boolean }>;
  size(n: number): Promise<{ lobby_id: string; max_peers: number }>;
  /** Resolves with the PEER_GONE payload: the id. */
  kick(id: string): Promise<string>;
  /** Resolves with the echoed payload. */
  ping(payload?: any): Promise<any>;
  /** Resolves on RELAY_OK. */
  relay(opcode: 'MAKE_OFFER' | 'MAKE_ANSWER' | 'ICE', recipient: string, payload: any): Promise<void>;

  /** Throws OmegaError 'CLOSED' when there is no open channel to peerId. */
  send(peerId: string, data: string | ArrayBuffer | ArrayBufferView | Blob): void;
  /** Sends on every open channel; returns how many. */
  broadcast(data: string | ArrayBuffer | ArrayBufferView | Blob): number;
  /**
   * Closes links and socket for good and emits 'closed'. With `ws`, a socket whose closing
   * handshake does not finish within 2 s (a dead connection) is terminated.
   */
  close(): void;

  /**
   * Returns an unsubscribe function. A listener that throws does not disturb the client or the
   * other listeners; its error is rethrown on its own via queueMicrotask (in a browser an
   * uncaught error; in Node an 'uncaughtException', which ends the process unless handled).
   */
  on<K extends keyof OmegaEvents>(name: K, fn: (v: OmegaEvents[K]) => void): () => void;
  off<K extends keyof OmegaEvents>(name: K, fn: (v: OmegaEvents[K]) => void): void;
  /**
   * The next value of an event. The promise never settles if the event never comes (e.g.
   * 'reconnected' after 'closed', or any event after close()): race it against a timeout or the
   * 'closed' event where that can happen.
   */
  once<K extends keyof OmegaEvents>(name: K): Promise<OmegaEvents[K]>;
}
