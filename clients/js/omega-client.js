/**
 * omega-client.js: a client for omega, a CL Omega signaling and lobby server.
 *
 * One ES module with no dependencies and no build step. It runs in browsers
 * (`<script type="module">`) and in Node: Node 22 and later have a global
 * WebSocket, used by default; in Node 20 pass the `ws` package's WebSocket
 * class as `options.WebSocket`.
 *
 * It speaks the `standard` protocol profile only (the one a game gets
 * unless its operator chose `cl5`).
 *
 * What it does for a game:
 * - the account HTTP API: {@link register} and {@link login} (a session token);
 * - the signaling WebSocket: {@link connect} gives an {@link OmegaClient}
 *   whose methods are the protocol's commands, each a promise settled by the
 *   server's reply to it;
 * - WebRTC: a star of RTCPeerConnections (the host holds one per peer) with
 *   one DataChannel each, negotiated over the signaling socket, so the game
 *   only calls `send` / `broadcast` and listens to 'message';
 * - keepalive pings, reconnect with back-off, and state (`lobby`, `role`,
 *   `peers`, ...) kept up to date from replies and notifications.
 *
 * The protocol: every frame is one JSON object
 * `{opcode, payload?, origin?, recipient?, listener?}`. A command carries a
 * fresh `listener` string and the server copies it onto every direct reply,
 * which is how a reply finds its promise here. Frames without a listener are
 * notifications (or relayed WebRTC frames, which carry `origin`: the sender's
 * id).
 *
 * @module omega-client
 */

/** The WebSocket readyStates of an open and a closed socket (the same in browsers and `ws`). */
const SOCKET_OPEN = 1;
const SOCKET_CLOSED = 3;

/**
 * ms a closing socket gets to finish its closing handshake before it is
 * terminated (where the WebSocket class can: `ws`). On a dead connection the
 * server's close frame never comes, and `ws` would otherwise keep the socket
 * and a 30 s timer (which keeps Node running) until its own timeout.
 */
const CLOSE_GRACE = 2000;

/**
 * ms from the start of a reconnect during which a SESSION_EXISTS answer
 * does not use up an attempt. A socket that died silently stays the
 * account's session until the server's idle timeout drops it (by default
 * `--idle-timeout 300`, closed within 375 s: docs/operations.md); until then
 * every INIT is answered SESSION_EXISTS.
 */
const SESSION_WAIT = 400000;

/** The longest lobby id and lobby password the server accepts, in code points. */
const MAX_LOBBY_ID = 64;
const MAX_PASSWORD = 128;

/** The defaults of {@link ConnectOptions}. */
const DEFAULTS = Object.freeze({
  timeout: 15000,
  keepalive: 20000,
  reconnect: Object.freeze({ attempts: 8, minDelay: 500, maxDelay: 10000 }),
});

/**
 * INIT replies after which a reconnect stops for good: retrying with the same
 * token cannot succeed. (SESSION_EXISTS is not here: on a reconnect it usually
 * means the server has not yet noticed the old socket; see SESSION_WAIT.)
 */
const FINAL_INIT_ERRORS = new Set([
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_ORIGIN_MISMATCH',
  'VIOLATION',
]);

/** The relayed opcodes: the server forwards them to `recipient` with `origin`. */
const RELAY_OPCODES = new Set(['MAKE_OFFER', 'MAKE_ANSWER', 'ICE']);

/** The key of the internal start method, so it stays out of the public API. */
const START = Symbol('start');

/** Does nothing; used to drop promise rejections nobody needs to hear of. */
function ignore() {}

// ---------------------------------------------------------------------------
// Types (JSDoc; omega-client.d.ts has the same in TypeScript)
// ---------------------------------------------------------------------------

/**
 * The account of this connection, from INIT_OK.
 * @typedef {Object} Me
 * @property {string} id         the account's ULID: the id other members use as `recipient`
 * @property {string} user       the username (gamertag)
 * @property {string} game       the name of the game of the UGI
 * @property {string} developer  the name of the game's developer
 */

/**
 * A lobby member as this client knows it.
 * @typedef {Object} PeerInfo
 * @property {string} id
 * @property {string} user
 * @property {string} [pubkey]  present when the member sent one
 */

/**
 * Reconnect settings.
 * @typedef {Object} ReconnectOptions
 * @property {number} [attempts=8]      how many failed tries before giving up (a SESSION_EXISTS
 *   answer within 400 s of the loss does not count: the server may still hold the old socket)
 * @property {number} [minDelay=500]    ms before the first attempt; doubles each attempt
 * @property {number} [maxDelay=10000]  ms the delay never exceeds
 */

/**
 * Options of {@link connect}.
 * @typedef {Object} ConnectOptions
 * @property {string} [ugi]  the game's UGI; required unless the server URL has `?ugi=`
 * @property {string} token  a session token from {@link login}
 * @property {any} [WebSocket]          WebSocket class; default `globalThis.WebSocket` (browsers,
 *   Node 22+); in Node 20 pass the `ws` package's class. Called as `new WebSocket(url)`.
 * @property {any} [RTCPeerConnection]  default `globalThis.RTCPeerConnection`
 * @property {boolean} [webrtc]  default: true when an RTCPeerConnection class is
 *   available. false: the client only signals; the game handles 'relay' events.
 * @property {Array<Object>} [iceServers=[]]  STUN/TURN servers for every RTCPeerConnection
 * @property {Object} [rtcConfig]  more RTCConfiguration fields (e.g. iceTransportPolicy)
 * @property {number} [timeout=15000]   ms to wait for a command's reply (0: forever)
 * @property {number} [keepalive=20000] ms between KEEPALIVE pings (0: none); a ping
 *   unanswered for two intervals counts as a lost socket
 * @property {ReconnectOptions|boolean} [reconnect]  false: never reconnect
 * @property {boolean} [resume=true]  ask the server to hold the session when the socket drops
 *   (RESUMABLE), so a reconnect within its window keeps the lobby, the role and the links
 * @property {boolean} [turn=true]  ask the server for TURN credentials (TURN_CREDENTIALS) and
 *   add its TURN servers to `iceServers`
 */

/**
 * The events of an {@link OmegaClient} and the value each passes to its listeners.
 * @typedef {Object} OmegaEvents
 * @property {{id: string, user: string, lobby_id: string, pubkey?: string}} new_host
 *   a lobby without a password opened, or got a new host (to lobby-less clients)
 * @property {PeerInfo} new_peer          a peer joined your lobby (host only)
 * @property {string} peer_gone           a peer left or was kicked (host only): its id
 * @property {string} host_gone           your host disconnected (peers only): its id
 * @property {{id: string, user: string, lobby_id: string}} host_reclaim  a new host was chosen
 * @property {string} lobby_close         a lobby was destroyed: its id
 * @property {{opcode: string, from: string, payload: any}} relay  a MAKE_OFFER / MAKE_ANSWER / ICE arrived
 * @property {any} warning                an unsolicited WARNING: its reason
 * @property {{dir: 'in'|'out', frame: Object}} frame  every frame parsed or sent
 * @property {{peer: string, channel: any}} channel    a DataChannel to `peer` opened
 * @property {{peer: string, data: any}} message       a DataChannel message (string or ArrayBuffer)
 * @property {{peer: string, state: string}} link      a link's connectionState changed ('closed': closed here)
 * @property {{code: number, reason: string}} disconnected  the socket was lost
 * @property {{attempt: number, delay: number}} reconnecting  a reconnect attempt starts after `delay` ms;
 *   `attempt` counts every try, so it passes `attempts` while SESSION_EXISTS is retried
 * @property {{lobby: string|null, resumed: boolean}} reconnected  the socket is back; `resumed`: the
 *   session went on (still in `lobby`), else `lobby` is the lobby it was in, now left
 * @property {{lobby: string|null, role: string|null, dropped: number}} resumed  the server held the
 *   session: same id, lobby and role; `dropped` frames for this client did not fit what it kept
 * @property {{lobby: string, role: string, reason: string}} session_lost  lobby membership did not survive a
 *   reconnect (`reason` says why: no resume, or the server's RESUME_FAILED reason)
 * @property {{code: number, reason: string}} closed  the client stopped for good
 */

/**
 * One WebRTC link to another member (internal).
 * @typedef {Object} Link
 * @property {string} peer            the other member's id
 * @property {any} pc                 its RTCPeerConnection
 * @property {any} channel            its DataChannel, once there is one
 * @property {boolean} remoteSet      whether the remote description is set
 * @property {Array<any>} inbox       remote candidates that came before it was
 * @property {boolean} signaled       whether the offer/answer went out
 * @property {Array<any>} outbox      local candidates waiting for the offer/answer to go first
 * @property {boolean} closed
 */

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * The error every promise of this module rejects with.
 *
 * `code` is the server's reply opcode (`'LOBBY_FULL'`, `'PASSWORD_FAIL'`,
 * `'NOT_HOST'`, `'WARNING'`, `'VIOLATION'`, `'TOKEN_INVALID'`, ...),
 * `'HTTP_<status>'` for the HTTP API, `'TIMEOUT'` (no reply in time),
 * `'DISCONNECTED'` (the socket was lost while waiting) or `'CLOSED'` (the
 * client is closed or not connected).
 */
export class OmegaError extends Error {
  /**
   * @param {string} code     see the class comment
   * @param {any} [payload]   the reply's payload (WARNING/VIOLATION reason, HTTP error text)
   * @param {string} [message] defaults to the code, plus the payload when it is a string
   */
  constructor(code, payload, message) {
    super(message ?? (typeof payload === 'string' && payload ? `${code}: ${payload}` : code));
    this.name = 'OmegaError';
    /** @type {string} the reply opcode or one of this module's codes */
    this.code = code;
    /** @type {any} the reply's payload, if any */
    this.payload = payload;
  }
}

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

/**
 * Parses a server address. In a browser a relative one (e.g. '/') is
 * resolved against the page's address and an empty one means the page's
 * origin, for games served by the omega server itself.
 * @param {string} server
 * @returns {URL}
 */
function parseServer(server) {
  const base = globalThis.location?.href;
  return base ? new URL(server || '/', base) : new URL(server);
}

/** The path suffixes of the signaling endpoint (and its alias). */
const SIGNALING_PATH = /\/api(\/v0)?\/signaling\/?$/;

/**
 * The base URL of the HTTP API, without a trailing slash: ws(s) becomes
 * http(s), and a signaling path, query and fragment are dropped, so the
 * signaling URL itself also works as a server address.
 * @param {string} server
 * @returns {string}
 */
function httpBase(server) {
  const url = parseServer(server);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  const path = url.pathname.replace(SIGNALING_PATH, '').replace(/\/+$/, '');
  return url.origin + path;
}

/**
 * The signaling WebSocket URL of a game:
 * `ws://HOST:PORT/api/v0/signaling?ugi=UGI`.
 *
 * http becomes ws and https becomes wss. A ws(s) URL that already has a path
 * is kept as it is and only its `?ugi=` set (for servers behind a proxy
 * with its own path).
 * @param {string} server  e.g. 'http://127.0.0.1:8080' (a trailing slash is fine)
 * @param {string} ugi     the game's UGI
 * @returns {string}
 */
export function signalingUrl(server, ugi) {
  const url = parseServer(server);
  const wasWebSocket = url.protocol === 'ws:' || url.protocol === 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  const hasPath = url.pathname !== '/' && url.pathname !== '';
  if (!(wasWebSocket && hasPath) && !SIGNALING_PATH.test(url.pathname)) {
    url.pathname = url.pathname.replace(/\/+$/, '') + '/api/v0/signaling';
  }
  url.hash = '';
  url.searchParams.set('ugi', ugi);
  return url.toString();
}

// ---------------------------------------------------------------------------
// The account HTTP API
// ---------------------------------------------------------------------------

/**
 * POSTs a JSON body and returns the response text; a non-2xx status
 * rejects with OmegaError 'HTTP_<status>' whose message is the body's
 * "error" (omega answers errors as `{"error": "..."}`).
 * @param {string} server
 * @param {string} route   e.g. '/api/v0/login'
 * @param {Object} body
 * @param {string} accept  the Accept header
 * @returns {Promise<string>}
 */
async function post(server, route, body, accept) {
  const response = await fetch(httpBase(server) + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: accept },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw httpError(response.status, text);
  return text;
}

/**
 * @param {number} status
 * @param {string} text  the response body
 * @returns {OmegaError}
 */
function httpError(status, text) {
  let reason = text;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.error === 'string') reason = parsed.error;
  } catch {
    // Not JSON (a proxy's error page, say): keep the text as it is.
  }
  return new OmegaError(`HTTP_${status}`, reason, reason || `HTTP ${status}`);
}

/**
 * Creates an account.
 * @param {string} server  the server's address, e.g. 'http://127.0.0.1:8080'
 * @param {{username: string, email: string, password: string}} account
 *   username: 3–20 letters, digits, `_`, `-`, `.`; password: 8–128 characters
 * @returns {Promise<{id: string, username: string}>}
 * @throws {OmegaError} 'HTTP_400' (invalid fields), 'HTTP_409' (taken),
 *   'HTTP_429' (too many attempts), ...
 */
export async function register(server, { username, email, password }) {
  const text = await post(server, '/api/v0/register', { username, email, password }, 'application/json');
  return JSON.parse(text);
}

/**
 * Logs in and returns a fresh session token for {@link connect}.
 *
 * In a browser the token is bound to the page's origin: it only works on a
 * WebSocket opened from the same origin. It expires after 24 hours (by
 * default); log in again for a new one.
 * @param {string} server
 * @param {{email: string, password: string}} credentials
 * @returns {Promise<string>} the token
 * @throws {OmegaError} 'HTTP_401' (bad credentials), 'HTTP_429', ...
 */
export async function login(server, { email, password }) {
  const text = await post(server, '/api/v0/login', { email, password }, 'text/plain');
  return text.trim();
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/**
 * The text of a WebSocket message: a string in browsers; with `ws` a string
 * for text frames through addEventListener, but a Buffer in other setups.
 * @param {any} data
 * @returns {string}
 */
function messageText(data) {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return String(data);
}

/**
 * Parses one incoming frame; anything but a JSON object with a string
 * opcode yields null (omega never sends such a thing).
 * @param {string} text
 * @returns {Object|null}
 */
function parseFrame(text) {
  try {
    const frame = JSON.parse(text);
    const isFrame = frame !== null && typeof frame === 'object' && typeof frame.opcode === 'string';
    return isFrame ? frame : null;
  } catch {
    return null;
  }
}

/**
 * Subscribes to a WebSocket event in a way both browsers and `ws` support.
 * @param {any} socket
 * @param {string} name
 * @param {(event: any) => void} fn
 */
function listen(socket, name, fn) {
  if (typeof socket.addEventListener === 'function') socket.addEventListener(name, fn);
  else socket['on' + name] = fn;
}

/**
 * The reconnect delay of an attempt: minDelay doubling per attempt up to
 * maxDelay, then ±25 % jitter (kept within the two) so that many clients
 * dropped at once by a restart do not all come back in the same instant.
 * @param {number} attempt  1, 2, ...
 * @param {{minDelay: number, maxDelay: number}} settings
 * @returns {number} ms
 */
function backoffDelay(attempt, settings) {
  return jitter(Math.min(settings.maxDelay, settings.minDelay * 2 ** (attempt - 1)), settings);
}

/**
 * A delay ±25 %, kept within minDelay and maxDelay.
 * @param {number} base  ms
 * @param {{minDelay: number, maxDelay: number}} settings
 * @returns {number} ms
 */
function jitter(base, { minDelay, maxDelay }) {
  const jittered = base * (0.75 + Math.random() * 0.5);
  return Math.round(Math.min(maxDelay, Math.max(minDelay, jittered)));
}

/**
 * Closes a socket (code 1000 by default). Where the WebSocket class can
 * terminate a socket (`ws`), one whose closing handshake has not finished
 * within CLOSE_GRACE ms (a dead connection: the server's close frame never
 * comes) is terminated, so that it does not linger for `ws`'s 30 s.
 * @param {any} socket
 * @param {number} [code=1000]
 */
function closeSocket(socket, code = 1000) {
  try {
    socket.close(code);
  } catch {
    // Already closing, or a code the class refuses: nothing more to ask.
  }
  if (typeof socket.terminate !== 'function' || socket.readyState === SOCKET_CLOSED) return;
  const timer = setTimeout(() => {
    try {
      socket.terminate();
    } catch {
      // Gone meanwhile.
    }
  }, CLOSE_GRACE);
  // The timer alone need not keep Node running: while the socket lives,
  // the socket does.
  timer.unref?.();
  const closed = () => clearTimeout(timer);
  if (typeof socket.addEventListener === 'function') socket.addEventListener('close', closed, { once: true });
  else if (typeof socket.once === 'function') socket.once('close', closed);
}

/**
 * Whether a string has at most `max` code points (as the server counts).
 * @param {string} text
 * @param {number} max
 * @returns {boolean}
 */
function withinCodePoints(text, max) {
  if (text.length <= max) return true;
  if (text.length > 2 * max) return false; // a code point is 1 or 2 UTF-16 units
  let count = 0;
  for (const _ of text) {
    if (++count > max) return false;
  }
  return true;
}

/**
 * The TypeError for a lobby id the server would answer with VIOLATION
 * (which also closes the connection for good), or null when it is fine.
 * @param {any} lobby
 * @returns {TypeError|null}
 */
function lobbyIdError(lobby) {
  if (typeof lobby === 'string' && lobby !== '' && withinCodePoints(lobby, MAX_LOBBY_ID)) return null;
  return new TypeError(`omega: a lobby id must be a string of 1 to ${MAX_LOBBY_ID} characters`);
}

/**
 * The TypeError for a lobby password the server would answer with
 * VIOLATION, or null when it is fine (undefined: no password).
 * @param {any} password
 * @returns {TypeError|null}
 */
function passwordError(password) {
  if (password === undefined) return null;
  if (typeof password === 'string' && withinCodePoints(password, MAX_PASSWORD)) return null;
  return new TypeError(`omega: a lobby password must be a string of at most ${MAX_PASSWORD} characters`);
}

/**
 * The reconnect settings from the option: false turns reconnecting off,
 * true or an object (missing fields take the defaults) turns it on.
 * @param {ReconnectOptions|boolean|undefined} option
 * @returns {{attempts: number, minDelay: number, maxDelay: number}|null}
 */
function reconnectSettings(option) {
  if (option === false) return null;
  const given = typeof option === 'object' && option !== null ? option : {};
  return { ...DEFAULTS.reconnect, ...given };
}

/**
 * An SDP description in the plain shape the other side passes to
 * setRemoteDescription: the local description once set (it may hold
 * candidates already), else the one created.
 * @param {any} local    pc.localDescription
 * @param {any} created  the result of createOffer / createAnswer
 * @returns {{type: string, sdp: string}}
 */
function describe(local, created) {
  const source = local && local.sdp ? local : created;
  return { type: source.type, sdp: source.sdp };
}

/**
 * @param {any} payload
 * @returns {boolean} whether a relayed payload is an SDP description
 */
function isDescription(payload) {
  return payload !== null && typeof payload === 'object' && typeof payload.sdp === 'string';
}

/**
 * ICE payloads with an `omega` member are messages of this client to
 * itself on the other side (the hello after a host change), never
 * candidates.
 * @param {any} payload
 * @returns {boolean}
 */
function isOmegaMessage(payload) {
  return payload !== null && typeof payload === 'object' && 'omega' in payload;
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/**
 * A connection to the signaling server: one authenticated WebSocket, the
 * lobby state, and (with WebRTC on) the DataChannels to the other members.
 *
 * Get one from {@link connect}; the constructor does not connect.
 */
export class OmegaClient {
  // Settings ---------------------------------------------------------------
  /** @type {string} */ #url;
  /** @type {string} */ #token;
  /** @type {any} */ #WebSocket;
  /** @type {any} */ #RTCPeerConnection;
  /** @type {boolean} */ #webrtc;
  /** @type {Object} */ #rtcConfiguration;
  /** @type {number} */ #timeout;
  /** @type {number} */ #keepalive;
  /** @type {{attempts: number, minDelay: number, maxDelay: number}|null} */ #reconnect;
  /** @type {boolean} */ #resume;
  /** @type {boolean} */ #turn;
  /** @type {Array<Object>} the iceServers the game gave */ #baseIceServers;

  // State the game reads -------------------------------------------------------
  /** @type {Me|null} */ #me = null;
  /** @type {string|null} */ #lobby = null;
  /** @type {'host'|'peer'|null} */ #role = null;
  /** @type {string|null} */ #hostId = null;
  /** @type {Map<string, PeerInfo>} */ #peers = new Map();
  /** @type {Map<string, any>} */ #channels = new Map();
  /** @type {boolean} */ #connected = false;

  // Machinery ----------------------------------------------------------------
  /**
   * 'idle' (not started), 'opening' (a socket is opening or INIT'ing),
   * 'live' (INIT'ed), 'reconnecting' (waiting between attempts), 'closed' (for good).
   * @type {'idle'|'opening'|'live'|'reconnecting'|'closed'}
   */
  #phase = 'idle';
  /** @type {any} the current socket; events of any other socket are ignored */
  #socket = null;
  /** @type {{resolve: Function, reject: Function, timer: any}|null} waits for 'open' */
  #opening = null;
  /** @type {number} the last listener handed out */
  #lastListener = 0;
  /**
   * The commands waiting for their reply, by listener.
   * @type {Map<string, {opcode: string, expect: string, skip: string|null, resolve: Function,
   *   reject: Function, timer: any, timeout: number}>}
   */
  #pending = new Map();
  /** @type {any} the timer of the next keepalive ping */
  #keepaliveTimer = null;
  /** @type {{timer: any, wake: Function}|null} the wait before a reconnect attempt */
  #backoff = null;
  /** @type {string|null} the reason of a VIOLATION: the server is closing for good */
  #violation = null;
  /** @type {Map<string, Link>} one WebRTC link per other member */
  #links = new Map();
  /** @type {Map<string, Set<Function>>} */
  #listeners = new Map();
  /** @type {boolean} the socket being opened passed INIT (or RESUME) */
  #authenticated = false;
  /** @type {string|null} what a RESUME presents; null: the session is not resumable */
  #resumeSecret = null;
  /** @type {any} the timer that fetches fresh TURN credentials */
  #turnTimer = null;

  /**
   * Use {@link connect} instead: it creates a client and waits for INIT_OK.
   * @param {string} server
   * @param {ConnectOptions} options
   */
  constructor(server, options) {
    if (!options || typeof options !== 'object') throw new TypeError('omega: connect() needs options {ugi, token}');
    const ugi = options.ugi ?? parseServer(server).searchParams.get('ugi');
    if (typeof ugi !== 'string' || !ugi) throw new TypeError('omega: options.ugi (the game id) is required');
    if (typeof options.token !== 'string' || !options.token) throw new TypeError('omega: options.token (from login()) is required');
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError("omega: no WebSocket class; in Node pass options.WebSocket from the 'ws' package");
    }
    this.#RTCPeerConnection = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    this.#webrtc = options.webrtc ?? typeof this.#RTCPeerConnection === 'function';
    if (this.#webrtc && typeof this.#RTCPeerConnection !== 'function') {
      throw new TypeError('omega: webrtc is on but there is no RTCPeerConnection class');
    }
    this.#url = signalingUrl(server, ugi);
    this.#token = options.token;
    this.#baseIceServers = options.iceServers ?? [];
    this.#rtcConfiguration = { iceServers: this.#baseIceServers, ...options.rtcConfig };
    this.#resume = options.resume ?? true;
    this.#turn = options.turn ?? true;
    this.#timeout = options.timeout ?? DEFAULTS.timeout;
    this.#keepalive = options.keepalive ?? DEFAULTS.keepalive;
    this.#reconnect = reconnectSettings(options.reconnect);
  }

  // -------------------------------------------------------------------------
  // State
  // -------------------------------------------------------------------------

  /** @returns {Me|null} this connection's account and game, from INIT_OK */
  get me() { return this.#me; }
  /** @returns {string|null} the lobby this client hosts or is a peer of */
  get lobby() { return this.#lobby; }
  /** @returns {'host'|'peer'|null} */
  get role() { return this.#role; }
  /** @returns {string|null} the lobby's host (`me.id` when hosting); null when none or hostless */
  get hostId() { return this.#hostId; }
  /**
   * For a host: its peers. For a peer: the host only (a standard lobby is a
   * star; peers are not told about each other).
   * @returns {Map<string, PeerInfo>}
   */
  get peers() { return this.#peers; }
  /** @returns {Map<string, any>} the open DataChannels, by member id */
  get channels() { return this.#channels; }
  /** @returns {boolean} whether the socket is open and INIT'ed */
  get connected() { return this.#connected; }
  /** @returns {boolean} whether the server holds this session if the socket drops */
  get resumable() { return this.#resumeSecret !== null; }
  /** @returns {Array<Object>} the iceServers new links use (the game's, then the server's TURN) */
  get iceServers() { return this.#rtcConfiguration.iceServers; }

  // -------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------

  /**
   * Subscribes to an event (see {@link OmegaEvents}).
   * @param {string} name
   * @param {(value: any) => void} fn
   * @returns {() => void} unsubscribes
   */
  on(name, fn) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }

  /**
   * Unsubscribes a listener added with {@link OmegaClient#on}.
   * @param {string} name
   * @param {(value: any) => void} fn
   */
  off(name, fn) {
    this.#listeners.get(name)?.delete(fn);
  }

  /**
   * The next value of an event. The promise never settles if the event
   * never comes (e.g. 'reconnected' after 'closed'): race it against a
   * timeout or 'closed' where that can happen.
   * @param {string} name
   * @returns {Promise<any>}
   */
  once(name) {
    return new Promise((resolve) => {
      const off = this.on(name, (value) => {
        off();
        resolve(value);
      });
    });
  }

  /**
   * Calls every listener of an event. A listener that throws does not stop
   * the others nor break the client's bookkeeping: its error is rethrown
   * on its own, as a browser does for a throwing event handler.
   * @param {string} name
   * @param {any} value
   */
  #emit(name, value) {
    const listeners = this.#listeners.get(name);
    if (!listeners) return;
    for (const fn of [...listeners]) {
      try {
        fn(value);
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }

  // -------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------

  /**
   * Creates a lobby and hosts it. Peers join it by its id.
   * @param {{lobby: string, maxPeers?: number, password?: string, reclaim?: boolean,
   *   peersMayClaim?: boolean, pubkey?: string}} settings
   *   lobby: 1–64 characters; maxPeers: 0 = unlimited; reclaim: when this host
   *   leaves, a peer becomes host instead of the lobby closing; peersMayClaim:
   *   with reclaim, peers may claim the host place (claimHost) before the
   *   server picks one; password: at most 128 characters
   * @returns {Promise<{lobby_id: string}>} the ACK_HOST payload; rejects with
   *   a TypeError, sending nothing, for a lobby id or password the server
   *   would refuse with VIOLATION
   */
  host({ lobby, maxPeers = 0, password, reclaim = false, peersMayClaim = false, pubkey }) {
    const invalid = lobbyIdError(lobby) ?? passwordError(password);
    if (invalid) return Promise.reject(invalid);
    return this.#command('CONFIG_HOST', {
      lobby_id: lobby,
      max_peers: maxPeers,
      password,
      allow_host_reclaim: reclaim,
      allow_peers_to_claim_host: peersMayClaim,
      pubkey,
    }, 'ACK_HOST');
  }

  /**
   * Joins a lobby as a peer. With WebRTC on, the host then offers a link.
   * @param {string} lobby
   * @param {{password?: string, pubkey?: string}} [options]
   * @returns {Promise<{lobby_id: string, id: string, user: string, pubkey?: string}>}
   *   the ACK_PEER payload: the host; rejects with a TypeError, sending
   *   nothing, for a lobby id (1–64 characters) or password (at most 128)
   *   the server would refuse with VIOLATION
   */
  join(lobby, { password, pubkey } = {}) {
    const invalid = lobbyIdError(lobby) ?? passwordError(password);
    if (invalid) return Promise.reject(invalid);
    // A lobby with a password answers PASSWORD_ACK first: not the result yet.
    return this.#command('CONFIG_PEER', { lobby_id: lobby, password, pubkey }, 'ACK_PEER', { skip: 'PASSWORD_ACK' });
  }

  /**
   * The ids of the game's lobbies that have no password.
   * @returns {Promise<string[]>}
   */
  lobbies() {
    return this.#command('LOBBY_LIST', undefined, 'LOBBY_LIST');
  }

  /**
   * One lobby's details.
   * @param {string} lobby
   * @returns {Promise<{lobby_id: string, lobby_host_id?: string, lobby_host_username?: string,
   *   max_peers: number, current_peers: number, locked: boolean, password_required: boolean}>}
   *   rejects with a TypeError, sending nothing, when `lobby` is not a string
   *   of 1–64 characters
   */
  info(lobby) {
    const invalid = lobbyIdError(lobby);
    if (invalid) return Promise.reject(invalid);
    return this.#command('LOBBY_INFO', lobby, 'LOBBY_INFO');
  }

  /**
   * Claims the host place of a hostless lobby (one whose host left with
   * `reclaim` and `peersMayClaim` on). The first claim wins.
   * @returns {Promise<{id: string, user: string, lobby_id: string}>} the HOST_RECLAIM payload
   */
  claimHost() {
    return this.#command('CLAIM_HOST', undefined, 'HOST_RECLAIM');
  }

  /**
   * Hands the host place to a peer; this client becomes a peer.
   * @param {string} id  the peer's id
   * @returns {Promise<{id: string, user: string, lobby_id: string}>} the HOST_RECLAIM payload
   */
  transferHost(id) {
    return this.#command('TRANSFER_HOST', id, 'HOST_RECLAIM');
  }

  /**
   * Stops new joins (host only).
   * @returns {Promise<{lobby_id: string, locked: boolean}>}
   */
  lock() {
    return this.#command('LOCK', undefined, 'LOCK');
  }

  /**
   * Allows joins again (host only).
   * @returns {Promise<{lobby_id: string, locked: boolean}>}
   */
  unlock() {
    return this.#command('UNLOCK', undefined, 'UNLOCK');
  }

  /**
   * Changes the lobby's peer limit (host only); peers already inside stay.
   * @param {number} n  0 = unlimited
   * @returns {Promise<{lobby_id: string, max_peers: number}>}
   */
  size(n) {
    return this.#command('SIZE', n, 'SIZE');
  }

  /**
   * Removes a peer from the lobby (host only).
   * @param {string} id
   * @returns {Promise<string>} the PEER_GONE payload: the id
   */
  kick(id) {
    return this.#command('KICK', id, 'PEER_GONE');
  }

  /**
   * Sends a KEEPALIVE; the server echoes the payload.
   * @param {any} [payload]
   * @returns {Promise<any>} the echoed payload
   */
  ping(payload) {
    return this.#command('KEEPALIVE', payload, 'KEEPALIVE');
  }

  /**
   * Relays a WebRTC signaling frame to another member. With WebRTC on the
   * client does this itself; use it with `webrtc: false` or for your own
   * signaling.
   * @param {'MAKE_OFFER'|'MAKE_ANSWER'|'ICE'} opcode
   * @param {string} recipient  the member's id
   * @param {any} payload
   * @returns {Promise<void>} resolves on RELAY_OK (the frame is on its way)
   */
  relay(opcode, recipient, payload) {
    return this.#command(opcode, payload, 'RELAY_OK', { recipient }).then(() => undefined);
  }

  /**
   * Sends one command and waits for the reply carrying its listener.
   * @param {string} opcode
   * @param {any} payload
   * @param {string} expect  the success reply's opcode
   * @param {{recipient?: string, skip?: string, timeout?: number}} [extra]
   *   skip: an intermediate reply opcode to wait past
   * @returns {Promise<any>} the success reply's payload
   */
  #command(opcode, payload, expect, { recipient, skip = null, timeout = this.#timeout } = {}) {
    // While opening, only the handshake goes out until INIT (or RESUME)
    // succeeded; after it, anything may (a resumed link answers an offer
    // that was kept for it while the client asks for TURN credentials).
    const handshake = opcode === 'INIT' || opcode === 'RESUME';
    const usable = this.#phase === 'live' || (this.#phase === 'opening' && (handshake || this.#authenticated));
    if (!usable || this.#socket?.readyState !== SOCKET_OPEN) {
      return Promise.reject(new OmegaError('CLOSED', undefined, 'CLOSED: the client is not connected'));
    }
    const listener = String(++this.#lastListener);
    return new Promise((resolve, reject) => {
      const timer = timeout > 0 && Number.isFinite(timeout)
        ? setTimeout(() => this.#expire(listener), timeout)
        : null;
      this.#pending.set(listener, { opcode, expect, skip, resolve, reject, timer, timeout });
      try {
        this.#send({ opcode, payload, recipient, listener });
      } catch (err) {
        // A payload JSON cannot hold (a BigInt, a cycle): nothing went out.
        this.#pending.delete(listener);
        clearTimeout(timer);
        reject(err);
      }
    });
  }

  /**
   * A command's time is up: reject it. A late reply then finds no promise
   * but still updates the state (see #onFrame).
   * @param {string} listener
   */
  #expire(listener) {
    const entry = this.#pending.get(listener);
    if (!entry) return;
    this.#pending.delete(listener);
    entry.reject(new OmegaError('TIMEOUT', undefined, `TIMEOUT: no reply within ${entry.timeout} ms`));
  }

  /**
   * Rejects every waiting command, e.g. when the socket is gone.
   * @param {string} code
   * @param {any} [payload]
   */
  #rejectAll(code, payload) {
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(new OmegaError(code, payload));
    }
  }

  /**
   * Serializes and sends one frame, leaving out the fields that are undefined.
   * @param {{opcode: string, payload?: any, recipient?: string, listener?: string}} frame
   */
  #send(frame) {
    const text = JSON.stringify(frame);
    this.#socket.send(text);
    // The log shows the frame as it went out (undefined fields dropped);
    // re-parsing costs nothing when nobody listens.
    if (this.#listeners.get('frame')?.size) this.#emit('frame', { dir: 'out', frame: JSON.parse(text) });
  }

  // -------------------------------------------------------------------------
  // DataChannels
  // -------------------------------------------------------------------------

  /**
   * Sends data to one member over its DataChannel.
   * @param {string} peerId
   * @param {string|ArrayBuffer|ArrayBufferView|Blob} data
   * @throws {OmegaError} 'CLOSED' when there is no open channel to that member
   */
  send(peerId, data) {
    const channel = this.#channels.get(peerId);
    if (!channel || channel.readyState !== 'open') {
      throw new OmegaError('CLOSED', undefined, `CLOSED: no open channel to ${peerId}`);
    }
    channel.send(data);
  }

  /**
   * Sends data over every open DataChannel (a host: to all its peers; a
   * peer: to its host).
   * @param {string|ArrayBuffer|ArrayBufferView|Blob} data
   * @returns {number} how many channels it went out on
   */
  broadcast(data) {
    let count = 0;
    for (const channel of this.#channels.values()) {
      if (channel.readyState !== 'open') continue;
      channel.send(data);
      count += 1;
    }
    return count;
  }

  // -------------------------------------------------------------------------
  // Closing
  // -------------------------------------------------------------------------

  /**
   * Closes every link and the socket, for good (no reconnect), and emits
   * 'closed'. Waiting commands reject with 'CLOSED'. Calling it again does
   * nothing.
   */
  close() {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#stopTimers();
    this.#opening?.reject(new OmegaError('CLOSED'));
    this.#rejectAll('CLOSED');
    this.#leaveLobby();
    this.#connected = false;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) closeSocket(socket);
    this.#emit('closed', { code: 1000, reason: 'closed by the client' });
  }

  /** Clears the keepalive and reconnect timers (command timers go with #rejectAll). */
  #stopTimers() {
    globalThis.removeEventListener?.('pagehide', this.#onPageHide);
    clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    clearTimeout(this.#turnTimer);
    this.#turnTimer = null;
    if (this.#backoff) {
      clearTimeout(this.#backoff.timer);
      this.#backoff.wake();
      this.#backoff = null;
    }
  }

  /**
   * Ends for good after the socket was lost (VIOLATION, reconnect off or
   * spent, a final INIT error).
   * @param {number} code
   * @param {string} reason
   */
  #finish(code, reason) {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#stopTimers();
    this.#resumeSecret = null;
    this.#leaveLobby(); // a held lobby, if the reconnect gave up
    this.#emit('closed', { code, reason });
  }

  // -------------------------------------------------------------------------
  // The socket
  // -------------------------------------------------------------------------

  /**
   * Connects for the first time; {@link connect} calls it.
   * @returns {Promise<void>} resolves after INIT_OK
   */
  async [START]() {
    // A page that goes away closes its socket with 1001, which the server
    // treats like a dropped connection when the session is resumable: the
    // player would linger in the lobby for the whole resume window. Leaving
    // the page is leaving the game, so close normally (1000) instead.
    globalThis.addEventListener?.('pagehide', this.#onPageHide);
    try {
      await this.#establish();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  #onPageHide = () => this.close();

  /**
   * Opens a socket and INITs on it. On failure the socket is dropped and
   * the error thrown: OmegaError with the INIT reply's code, 'VIOLATION',
   * 'DISCONNECTED', 'TIMEOUT' or 'CLOSED'.
   */
  async #establish() {
    this.#phase = 'opening';
    this.#violation = null;
    this.#authenticated = false;
    const socket = this.#openSocket();
    let outcome = { resumed: null, failed: null };
    try {
      await this.#untilOpen(socket);
      this.#checkUsable(socket);
      outcome = await this.#authenticate();
      this.#authenticated = true;
      await this.#prepareSession();
    } catch (err) {
      this.#discard(socket, { dead: err.code === 'TIMEOUT' });
      throw err;
    }
    this.#phase = 'live';
    this.#connected = true;
    this.#scheduleKeepalive();
    return outcome;
  }

  /**
   * INIT, or RESUME when the last session was resumable. A RESUME that finds
   * nothing to take over (RESUME_FAILED) still INITs the socket afresh: its
   * INIT_OK follows, with the same account.
   * @returns {Promise<{resumed: Object|null, failed: string|null}>}
   */
  async #authenticate() {
    const secret = this.#resumeSecret;
    if (secret === null || this.#me === null) {
      this.#me = await this.#command('INIT', this.#token, 'INIT_OK');
      return { resumed: null, failed: null };
    }
    try {
      const resumed = await this.#command('RESUME', { token: this.#token, secret }, 'RESUMED', { skip: 'INIT_OK' });
      this.#resumeSecret = typeof resumed?.secret === 'string' ? resumed.secret : null;
      return { resumed, failed: null };
    } catch (err) {
      // Anything else (the socket died again, SESSION_EXISTS): the secret
      // stays for the next attempt.
      if (err.code !== 'RESUME_FAILED') throw err;
      this.#resumeSecret = null;
      return { resumed: null, failed: typeof err.payload === 'string' ? err.payload : 'RESUME_FAILED' };
    }
  }

  /**
   * After INIT: asks for a resume secret (RESUMABLE, unless one came with
   * RESUMED) and TURN credentials. Neither is needed to play: a server
   * without them (WARNING, or no answer) leaves the client as it was.
   */
  async #prepareSession() {
    const quick = { timeout: Math.min(this.#timeout || 5000, 5000) };
    if (this.#resume && this.#resumeSecret === null) {
      const reply = await this.#command('RESUMABLE', undefined, 'RESUMABLE', quick).catch(() => null);
      this.#resumeSecret = typeof reply?.secret === 'string' && reply.secret ? reply.secret : null;
    }
    if (this.#turn) await this.#fetchTurn(quick);
  }

  /**
   * Puts the server's TURN servers after the game's own iceServers, and
   * fetches fresh credentials again before these expire.
   * @param {{timeout: number}} options
   */
  async #fetchTurn(options) {
    clearTimeout(this.#turnTimer);
    this.#turnTimer = null;
    const servers = await this.#command('TURN_CREDENTIALS', undefined, 'TURN_CREDENTIALS', options).catch(() => null);
    if (!Array.isArray(servers)) return;
    const usable = servers.filter((x) => x && Array.isArray(x.urls) && typeof x.username === 'string'
      && typeof x.credential === 'string');
    this.#rtcConfiguration.iceServers = [...this.#baseIceServers,
      ...usable.map(({ urls, username, credential }) => ({ urls, username, credential }))];
    // `username` is `<expiry unix time>:<account id>`: renew at half-life.
    const expiry = Math.min(...usable.map((x) => Number.parseInt(x.username, 10)).filter(Number.isFinite));
    if (!Number.isFinite(expiry)) return;
    const wait = Math.max(60000, (expiry * 1000 - Date.now()) / 2);
    this.#turnTimer = setTimeout(() => {
      if (this.#phase === 'live') this.#fetchTurn(options);
    }, wait);
    this.#turnTimer.unref?.();
  }

  /**
   * Creates a socket and wires its events; events of a socket that is no
   * longer the current one are ignored.
   * @returns {any}
   */
  #openSocket() {
    let socket;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (err) {
      throw new OmegaError('DISCONNECTED', String(err?.message ?? err));
    }
    this.#socket = socket;
    listen(socket, 'open', () => {
      if (socket === this.#socket) this.#opened();
    });
    listen(socket, 'message', (event) => {
      if (socket === this.#socket) this.#onMessage(event.data);
    });
    listen(socket, 'close', (event) => {
      if (socket === this.#socket) this.#onSocketGone(event.code ?? 1006, event.reason ?? '');
    });
    // A 'close' event always follows an 'error'; listening keeps `ws` from
    // throwing the error as unhandled.
    listen(socket, 'error', ignore);
    return socket;
  }

  /**
   * Waits for the socket's 'open', at most `timeout` ms.
   * @param {any} socket
   * @returns {Promise<void>}
   */
  #untilOpen(socket) {
    if (socket.readyState === SOCKET_OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (fn) => (value) => {
        clearTimeout(this.#opening?.timer);
        this.#opening = null;
        fn(value);
      };
      const timer = this.#timeout > 0 && Number.isFinite(this.#timeout)
        ? setTimeout(() => this.#opening?.reject(new OmegaError('TIMEOUT', undefined, 'TIMEOUT: the socket did not open')), this.#timeout)
        : null;
      this.#opening = { resolve: done(resolve), reject: done(reject), timer };
    });
  }

  /**
   * Throws when a socket that just opened is already unusable: a frame
   * right after the upgrade may have been a VIOLATION (an unknown UGI),
   * handled before this code ran again.
   * @param {any} socket
   */
  #checkUsable(socket) {
    if (this.#violation !== null) throw new OmegaError('VIOLATION', this.#violation);
    if (socket !== this.#socket || socket.readyState !== SOCKET_OPEN) throw new OmegaError('DISCONNECTED');
  }

  /** The current socket opened. */
  #opened() {
    this.#opening?.resolve();
  }

  /**
   * Stops using a socket without treating it as lost: after a failed INIT,
   * or when keepalive found it dead.
   * @param {any} socket
   * @param {{dead: boolean}} how  dead: the server does not answer
   */
  #discard(socket, { dead }) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    if (dead && typeof socket.terminate === 'function') {
      // On a dead connection a closing handshake never completes (`ws`
      // would keep a timer for 30 s); `ws` can drop it at once.
      try {
        socket.terminate();
      } catch {
        // Already gone: nothing left to do.
      }
    } else {
      closeSocket(socket);
    }
  }

  /**
   * The current socket closed (or was found dead).
   * @param {number} code
   * @param {string} reason
   */
  #onSocketGone(code, reason) {
    this.#socket = null;
    this.#opening?.reject(new OmegaError('DISCONNECTED', reason || undefined));
    this.#rejectAll('DISCONNECTED', reason || undefined);
    if (this.#phase === 'live') this.#lost(code, reason);
  }

  /**
   * An INIT'ed socket is gone: leave the lobby, tell the game, then
   * reconnect or end for good.
   * @param {number} code
   * @param {string} reason
   */
  #lost(code, reason) {
    clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    const was = { lobby: this.#lobby, role: this.#role };
    // A resumable session keeps its lobby, role and links for the server's
    // window; whatever happens meanwhile comes with the kept frames.
    if (this.#resumeSecret === null || !this.#reconnect) this.#leaveLobby();
    this.#connected = false;
    this.#phase = 'reconnecting';
    this.#emit('disconnected', { code, reason });
    if (this.#phase !== 'reconnecting') return; // a listener called close()
    if (this.#violation !== null) this.#finish(code, reason || `VIOLATION: ${this.#violation}`);
    else if (!this.#reconnect) this.#finish(code, reason);
    else this.#reconnectLoop(was, code, reason);
  }

  /**
   * Tries to get the socket back, with back-off, INIT'ing with the same token.
   *
   * A SESSION_EXISTS answer within SESSION_WAIT ms of the start does not use
   * up an attempt: the server still holds the old socket (one that died
   * silently is only dropped by its idle timeout), and the next try comes
   * after about maxDelay. The `attempt` of 'reconnecting' counts every try,
   * so it can pass `attempts` then.
   * @param {{lobby: string|null, role: string|null}} was  the lobby membership before the loss
   * @param {number} code    the lost socket's close code
   * @param {string} reason  and reason
   */
  async #reconnectLoop(was, code, reason) {
    const settings = this.#reconnect;
    const { attempts } = settings;
    const started = Date.now();
    let last = { code, reason };
    let used = 0;          // attempts used up
    let tries = 0;         // every try, SESSION_EXISTS ones included
    let sessionHeld = false;
    while (used < attempts) {
      tries += 1;
      const delay = sessionHeld ? jitter(settings.maxDelay, settings) : backoffDelay(used + 1, settings);
      this.#emit('reconnecting', { attempt: tries, delay });
      if (!this.#isReconnecting()) return; // a listener called close()
      await this.#sleep(delay);
      if (!this.#isReconnecting()) return; // closed meanwhile
      let outcome = null;
      const failure = await this.#establish().then((x) => { outcome = x; return null; }, (err) => err);
      if (this.#isClosed()) return;
      if (!failure) {
        this.#announceReconnect(was, outcome);
        return;
      }
      this.#phase = 'reconnecting';
      if (FINAL_INIT_ERRORS.has(failure.code)) {
        this.#finish(1008, `reconnect refused: ${failure.message}`);
        return;
      }
      last = { code: 1006, reason: failure.message };
      sessionHeld = failure.code === 'SESSION_EXISTS' && Date.now() - started < SESSION_WAIT;
      if (!sessionHeld) used += 1;
    }
    this.#finish(last.code, `reconnect failed after ${attempts} attempts (${last.reason || 'no reason'})`);
  }

  /**
   * Tells the game the socket is back: the session resumed (same lobby and
   * role), or its lobby is gone (the server ended the membership with the
   * old socket, or could not resume it).
   * @param {{lobby: string|null, role: string|null}} was
   * @param {{resumed: Object|null, failed: string|null}} outcome
   */
  #announceReconnect(was, outcome) {
    if (outcome?.resumed) {
      this.#emit('reconnected', { lobby: this.#lobby, resumed: true });
      this.#emit('resumed', { lobby: this.#lobby, role: this.#role, dropped: Number(outcome.resumed.dropped) || 0 });
      return;
    }
    this.#leaveLobby(); // the server did not keep it
    this.#emit('reconnected', { lobby: was.lobby, resumed: false });
    if (was.lobby === null) return;
    this.#emit('session_lost', {
      lobby: was.lobby,
      role: was.role,
      reason: outcome?.failed
        ? `the server could not resume the session: ${outcome.failed}`
        : 'the server ends lobby membership when the socket drops',
    });
  }

  /** @returns {boolean} whether the client waits between reconnect attempts */
  #isReconnecting() {
    return this.#phase === 'reconnecting';
  }

  /** @returns {boolean} whether the client stopped for good */
  #isClosed() {
    return this.#phase === 'closed';
  }

  /**
   * Waits `ms` before a reconnect attempt; close() ends the wait early.
   * @param {number} ms
   * @returns {Promise<void>}
   */
  #sleep(ms) {
    return new Promise((resolve) => {
      const wake = () => {
        this.#backoff = null;
        resolve();
      };
      this.#backoff = { timer: setTimeout(wake, ms), wake };
    });
  }

  // -------------------------------------------------------------------------
  // Keepalive
  // -------------------------------------------------------------------------

  /**
   * Schedules the next ping. A socket can die without a close event (a
   * laptop lid, a NAT dropping the mapping); only a ping finds that out.
   */
  #scheduleKeepalive() {
    if (!(this.#keepalive > 0) || !Number.isFinite(this.#keepalive)) return;
    this.#keepaliveTimer = setTimeout(() => this.#sendKeepalive(), this.#keepalive);
  }

  /**
   * Pings; any reply (an echo, or a WARNING) proves the socket alive, no
   * reply within two intervals counts as a lost socket.
   */
  #sendKeepalive() {
    this.#keepaliveTimer = null;
    const socket = this.#socket;
    const alive = () => {
      if (socket === this.#socket && this.#phase === 'live') this.#scheduleKeepalive();
    };
    this.#command('KEEPALIVE', undefined, 'KEEPALIVE', { timeout: 2 * this.#keepalive }).then(alive, (err) => {
      if (err.code === 'TIMEOUT' && this.#serverHoldsReplies()) alive();
      else if (err.code === 'TIMEOUT') this.#keepaliveFailed(socket);
      else if (err.code !== 'DISCONNECTED' && err.code !== 'CLOSED') alive();
    });
  }

  /**
   * Whether an unanswered ping proves nothing: omega answers commands
   * after a CONFIG_HOST / CONFIG_PEER only once that is answered, and it
   * answers a wrong lobby password after a delay of up to 8 s. Such a
   * command has its own timeout; the next ping decides after it. Commands
   * without a timeout do not count.
   * @returns {boolean}
   */
  #serverHoldsReplies() {
    for (const entry of this.#pending.values()) {
      // Only one that times out itself: a command waiting forever (timeout
      // 0) would keep a dead socket from ever being found out.
      if (entry.timer === null) continue;
      if (entry.opcode === 'CONFIG_PEER' || entry.opcode === 'CONFIG_HOST') return true;
    }
    return false;
  }

  /**
   * The ping went unanswered: drop the socket and handle it as lost.
   * @param {any} socket
   */
  #keepaliveFailed(socket) {
    if (socket !== this.#socket || this.#phase !== 'live') return;
    this.#discard(socket, { dead: true });
    this.#onSocketGone(1006, 'keepalive: no reply from the server');
  }

  // -------------------------------------------------------------------------
  // Incoming frames
  // -------------------------------------------------------------------------

  /**
   * @param {any} data  a message event's data
   */
  #onMessage(data) {
    const frame = parseFrame(messageText(data));
    if (frame) this.#onFrame(frame);
  }

  /**
   * Handles one frame: first the state (and events) its opcode implies,
   * whether or not a promise waits for it, then the promise its listener
   * names. Replies are applied even when late (their command timed out), so
   * the state never disagrees with the server's.
   * @param {{opcode: string, payload?: any, origin?: string, listener?: string}} frame
   */
  #onFrame(frame) {
    this.#emit('frame', { dir: 'in', frame });
    if (this.#isClosed()) return; // a 'frame' listener called close()
    const hasListener = typeof frame.listener === 'string';
    const entry = hasListener ? this.#pending.get(frame.listener) : undefined;
    if (entry && frame.opcode === entry.skip) return; // e.g. PASSWORD_ACK: keep waiting
    this.#apply(frame, hasListener);
    if (entry) this.#settle(frame.listener, entry, frame);
  }

  /**
   * Settles the command a reply names: its success opcode resolves, any
   * other opcode (an error code, WARNING, VIOLATION) rejects.
   * @param {string} listener
   * @param {{expect: string, resolve: Function, reject: Function, timer: any}} entry
   * @param {{opcode: string, payload?: any}} frame
   */
  #settle(listener, entry, frame) {
    this.#pending.delete(listener);
    clearTimeout(entry.timer);
    if (frame.opcode === entry.expect) entry.resolve(frame.payload);
    else entry.reject(new OmegaError(frame.opcode, frame.payload));
  }

  /**
   * Updates the state for one frame and emits its event.
   * @param {{opcode: string, payload?: any, origin?: string}} frame
   * @param {boolean} hasListener  whether it is a reply (notifications carry none)
   */
  #apply(frame, hasListener) {
    const { opcode, payload } = frame;
    switch (opcode) {
      case 'ACK_HOST': return this.#onAckHost(payload);
      case 'ACK_PEER': return this.#onAckPeer(payload);
      case 'NEW_HOST': return this.#emit('new_host', payload);
      case 'NEW_PEER': return this.#onNewPeer(payload);
      case 'PEER_GONE': return this.#onPeerGone(payload);
      case 'HOST_GONE': return this.#onHostGone(payload);
      case 'HOST_RECLAIM': return this.#onHostReclaim(payload);
      case 'LOBBY_CLOSE': return this.#onLobbyClose(payload);
      case 'VIOLATION': return this.#onViolation(payload, hasListener);
      case 'WARNING': if (!hasListener) this.#emit('warning', payload); return;
      default:
        if (RELAY_OPCODES.has(opcode) && !hasListener) this.#onRelay(frame);
    }
  }

  /**
   * The server is closing the socket for good. A VIOLATION without a
   * listener names no command, so it fails all of them (an unknown UGI
   * fails connect() with 'VIOLATION' this way).
   * @param {any} reason
   * @param {boolean} hasListener
   */
  #onViolation(reason, hasListener) {
    this.#violation = typeof reason === 'string' ? reason : JSON.stringify(reason ?? null);
    if (!hasListener) this.#rejectAll('VIOLATION', reason);
  }

  /** @param {{lobby_id: string}} payload */
  #onAckHost(payload) {
    this.#leaveLobby();
    this.#lobby = payload?.lobby_id ?? null;
    this.#role = 'host';
    this.#hostId = this.#me?.id ?? null;
  }

  /** @param {{lobby_id: string, id: string, user: string, pubkey?: string}} host */
  #onAckPeer(host) {
    this.#leaveLobby();
    this.#lobby = host?.lobby_id ?? null;
    this.#role = 'peer';
    this.#hostId = host?.id ?? null;
    if (host?.id) this.#peers.set(host.id, memberInfo(host));
  }

  /** @param {{id: string, user: string, pubkey?: string}} peer */
  #onNewPeer(peer) {
    const info = memberInfo(peer);
    this.#peers.set(info.id, info);
    this.#emit('new_peer', peer);
    if (this.#webrtc) this.#offerTo(info.id);
  }

  /** @param {string} id */
  #onPeerGone(id) {
    this.#peers.delete(id);
    this.#closeLink(id);
    this.#emit('peer_gone', id);
  }

  /**
   * The host left. The lobby may live on (a reclaim may follow), so this
   * client stays a peer of it, without a host for now.
   * @param {string} id
   */
  #onHostGone(id) {
    this.#closeAllLinks();
    this.#peers.clear();
    this.#hostId = null;
    this.#emit('host_gone', id);
  }

  /**
   * A new host: a claim, a transfer or the server's pick. Every link is
   * closed; the new host does not know who is in the lobby (the standard
   * protocol tells it nobody), so every other member says hello to it.
   * @param {{id: string, user: string, lobby_id: string}} host
   */
  #onHostReclaim(host) {
    this.#closeAllLinks();
    this.#peers.clear();
    this.#lobby = host.lobby_id ?? this.#lobby;
    this.#hostId = host.id;
    const isMe = host.id === this.#me?.id;
    this.#role = isMe ? 'host' : 'peer';
    if (!isMe) this.#peers.set(host.id, memberInfo(host));
    this.#emit('host_reclaim', host);
    if (this.#webrtc && !isMe) this.#sayHello(host.id);
  }

  /**
   * A lobby closed: this client's own (it was a peer, or was kicked), or
   * another one of the game (told to lobby-less clients).
   * @param {string} lobby
   */
  #onLobbyClose(lobby) {
    if (lobby === this.#lobby) this.#leaveLobby();
    this.#emit('lobby_close', lobby);
  }

  /** Back to lobby-less: no links, no peers, no host. */
  #leaveLobby() {
    this.#closeAllLinks();
    this.#peers.clear();
    this.#lobby = null;
    this.#role = null;
    this.#hostId = null;
  }

  /**
   * A relayed MAKE_OFFER / MAKE_ANSWER / ICE: always emitted; with WebRTC
   * on, also handled here.
   * @param {{opcode: string, payload?: any, origin?: string}} frame
   */
  #onRelay({ opcode, payload, origin }) {
    this.#emit('relay', { opcode, from: origin, payload });
    if (!this.#webrtc || typeof origin !== 'string') return;
    if (opcode === 'MAKE_OFFER') this.#acceptOffer(origin, payload);
    else if (opcode === 'MAKE_ANSWER') this.#acceptAnswer(origin, payload);
    else if (isOmegaMessage(payload)) this.#onOmegaMessage(origin, payload);
    else this.#addRemoteCandidate(origin, payload);
  }

  // -------------------------------------------------------------------------
  // WebRTC: a star, the host holding one link per peer
  // -------------------------------------------------------------------------

  /**
   * A new RTCPeerConnection to a member, its events wired.
   * @param {string} peer
   * @returns {Link}
   */
  #newLink(peer) {
    this.#closeLink(peer);
    const pc = new this.#RTCPeerConnection(this.#rtcConfiguration);
    /** @type {Link} */
    const link = { peer, pc, channel: null, remoteSet: false, inbox: [], signaled: false, outbox: [], closed: false };
    pc.onicecandidate = (event) => {
      // A null candidate marks the end of gathering: nothing to send.
      if (event.candidate && !link.closed) this.#sendCandidate(link, event.candidate);
    };
    pc.onconnectionstatechange = () => {
      if (!link.closed) this.#emit('link', { peer, state: pc.connectionState });
    };
    this.#links.set(peer, link);
    return link;
  }

  /**
   * Host side: a link to a new peer, with the DataChannel, and an offer.
   * @param {string} peer
   */
  async #offerTo(peer) {
    const link = this.#newLink(peer);
    try {
      this.#attachChannel(link, link.pc.createDataChannel('omega'));
      const offer = await link.pc.createOffer();
      await link.pc.setLocalDescription(offer);
      if (link.closed) return;
      await this.#signal(link, 'MAKE_OFFER', describe(link.pc.localDescription, offer));
    } catch {
      this.#failLink(link);
    }
  }

  /**
   * Peer side: the host's offer. A new offer replaces any old link to it.
   * @param {string} host
   * @param {any} offer  `{type: 'offer', sdp}`
   */
  async #acceptOffer(host, offer) {
    if (!isDescription(offer)) return;
    const link = this.#newLink(host);
    link.pc.ondatachannel = (event) => {
      if (!link.closed) this.#attachChannel(link, event.channel);
    };
    try {
      await this.#setRemote(link, offer);
      const answer = await link.pc.createAnswer();
      await link.pc.setLocalDescription(answer);
      if (link.closed) return;
      await this.#signal(link, 'MAKE_ANSWER', describe(link.pc.localDescription, answer));
    } catch {
      this.#failLink(link);
    }
  }

  /**
   * Host side: a peer's answer to the offer.
   * @param {string} peer
   * @param {any} answer  `{type: 'answer', sdp}`
   */
  async #acceptAnswer(peer, answer) {
    const link = this.#links.get(peer);
    if (!link || link.remoteSet || !isDescription(answer)) return;
    try {
      await this.#setRemote(link, answer);
    } catch {
      this.#failLink(link);
    }
  }

  /**
   * Sets the remote description, then adds the candidates that arrived
   * while it was being set (addIceCandidate refuses them before).
   * @param {Link} link
   * @param {{type: string, sdp: string}} description
   */
  async #setRemote(link, description) {
    await link.pc.setRemoteDescription(description);
    if (link.closed) return;
    link.remoteSet = true;
    for (const candidate of link.inbox.splice(0)) this.#addCandidate(link, candidate);
  }

  /**
   * A remote ICE candidate: added now, or queued until the remote
   * description is set. Candidates for no link (a link just closed) are
   * dropped.
   * @param {string} from
   * @param {any} candidate  RTCIceCandidateInit
   */
  #addRemoteCandidate(from, candidate) {
    const link = this.#links.get(from);
    if (!link || candidate === null || typeof candidate !== 'object') return;
    if (link.remoteSet) this.#addCandidate(link, candidate);
    else link.inbox.push(candidate);
  }

  /**
   * @param {Link} link
   * @param {any} candidate
   */
  #addCandidate(link, candidate) {
    // A candidate the browser refuses (stale, another m-line) is harmless.
    Promise.resolve()
      .then(() => link.pc.addIceCandidate(candidate))
      .catch(ignore);
  }

  /**
   * Sends the offer or answer, then the local candidates found meanwhile:
   * the other side must have the description before any candidate.
   * @param {Link} link
   * @param {'MAKE_OFFER'|'MAKE_ANSWER'} opcode
   * @param {{type: string, sdp: string}} description
   * @returns {Promise<void>} resolves on RELAY_OK
   */
  #signal(link, opcode, description) {
    const sent = this.relay(opcode, link.peer, description);
    link.signaled = true;
    for (const candidate of link.outbox.splice(0)) this.#sendCandidate(link, candidate);
    return sent;
  }

  /**
   * A local ICE candidate goes to the other member, after the description.
   * @param {Link} link
   * @param {any} candidate  RTCIceCandidate
   */
  #sendCandidate(link, candidate) {
    if (!link.signaled) {
      link.outbox.push(candidate);
      return;
    }
    const init = typeof candidate.toJSON === 'function' ? candidate.toJSON() : candidate;
    this.relay('ICE', link.peer, init).catch(ignore);
  }

  /**
   * After a host change every non-host member tells the new host it is
   * here, with an ICE frame that carries `omega` instead of a candidate.
   * @param {string} host
   */
  #sayHello(host) {
    this.relay('ICE', host, { omega: 'hello', user: this.#me?.user }).catch(ignore);
  }

  /**
   * An ICE payload with an `omega` member. The host, hearing hello from a
   * member it does not know, takes it as a new peer and offers.
   * @param {string} from
   * @param {{omega: string, user?: string}} message
   */
  #onOmegaMessage(from, message) {
    if (message.omega !== 'hello' || this.#role !== 'host' || this.#peers.has(from)) return;
    const peer = { id: from, user: typeof message.user === 'string' ? message.user : '' };
    this.#peers.set(from, peer);
    this.#emit('new_peer', peer);
    this.#offerTo(from);
  }

  /**
   * Wires a link's DataChannel: it counts as the member's channel once open.
   * @param {Link} link
   * @param {any} channel  RTCDataChannel
   */
  #attachChannel(link, channel) {
    link.channel = channel;
    channel.binaryType = 'arraybuffer';
    const opened = () => {
      if (link.closed || this.#channels.get(link.peer) === channel) return;
      this.#channels.set(link.peer, channel);
      this.#emit('channel', { peer: link.peer, channel });
    };
    channel.onopen = opened;
    channel.onmessage = (event) => {
      if (!link.closed) this.#emit('message', { peer: link.peer, data: event.data });
    };
    channel.onclose = () => {
      if (this.#channels.get(link.peer) === channel) this.#channels.delete(link.peer);
      // The channel of a live link closed (the other side closed it, or the
      // transport failed): the link is of no use any more.
      if (!link.closed && this.#links.get(link.peer) === link) this.#closeLink(link.peer);
    };
    // Some implementations hand over a received channel already open.
    if (channel.readyState === 'open') opened();
  }

  /**
   * A negotiation step failed: give the link up (the game sees
   * 'link' closed).
   * @param {Link} link
   */
  #failLink(link) {
    if (!link.closed && this.#links.get(link.peer) === link) this.#closeLink(link.peer);
  }

  /**
   * Closes the link to a member, if any, and emits 'link' closed.
   * @param {string} peer
   */
  #closeLink(peer) {
    const link = this.#links.get(peer);
    if (!link) return;
    link.closed = true;
    this.#links.delete(peer);
    if (this.#channels.get(peer) === link.channel) this.#channels.delete(peer);
    const { pc, channel } = link;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.ondatachannel = null;
    try {
      channel?.close();
      pc.close();
    } catch {
      // Already closed: nothing left to do.
    }
    this.#emit('link', { peer, state: 'closed' });
  }

  /** Closes every link. */
  #closeAllLinks() {
    for (const peer of [...this.#links.keys()]) this.#closeLink(peer);
  }
}

/**
 * The PeerInfo of a member from a NEW_PEER / ACK_PEER / HOST_RECLAIM payload.
 * @param {{id: string, user: string, pubkey?: string}} member
 * @returns {PeerInfo}
 */
function memberInfo(member) {
  const info = { id: member.id, user: member.user };
  if (member.pubkey !== undefined) info.pubkey = member.pubkey;
  return info;
}

/**
 * Connects to a game's signaling socket and authenticates with a session
 * token.
 * @param {string} server  e.g. 'http://127.0.0.1:8080' (ws:// and a full signaling URL work too)
 * @param {ConnectOptions} options
 * @returns {Promise<OmegaClient>} resolves after INIT_OK
 * @throws {OmegaError} TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_ORIGIN_MISMATCH,
 *   SESSION_EXISTS (the account is connected elsewhere), VIOLATION (e.g. an
 *   unknown UGI), DISCONNECTED (the socket could not open), TIMEOUT
 * @throws {TypeError} missing ugi/token, or no WebSocket class
 */
export async function connect(server, options) {
  const client = new OmegaClient(server, options);
  await client[START]();
  return client;
}
