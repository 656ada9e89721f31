// omega demo: two browser tabs, one lobby, a chat over a WebRTC DataChannel.
//
// Read this file as an example of a game using omega-client.js:
//   1. learn the game's UGI and get a session token (register / log in over HTTP),
//   2. connect() the signaling WebSocket,
//   3. host() a lobby or join() one; the client negotiates the WebRTC links itself,
//   4. talk over the DataChannels with send() / broadcast() and the 'message' event.
// Everything else here is plain DOM code for the page.
//
// Page parameters (all optional):
//   ?ugi=UGI          the game to play (else /demo-game.json of the server, else a field asks)
//   ?server=URL       the omega server, e.g. http://127.0.0.1:8080 (default: this page's origin;
//                     for serving this page from elsewhere while developing it). Only taken when
//                     its host name is this page's (another port of the same host) or this page is
//                     on localhost / 127.0.0.1 / [::1]: a link must not send your password to a
//                     server of its choice.
//   ?ice=JSON         RTCPeerConnection iceServers, e.g. [{"urls":"stun:stun.example.org"}]
//                     (default [] : host candidates only, enough on one machine or one LAN)

import { connect, register, login, OmegaError } from './omega-client.js';

// -- configuration from the page URL ---------------------------------------------------------------

const params = new URLSearchParams(location.search);
const server = pickServer(params.get('server'));
const iceServers = parseIce(params.get('ice'));

// ?server=, if it is on this page's host (any port) or this page is a local one; else the page's
// own origin. The page sends account passwords and tokens to this server.
function pickServer(text) {
  if (!text) return location.origin;
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  let url = null;
  try {
    url = new URL(text, location.href);
  } catch { /* not a URL: ignored below */ }
  if (url && (local || url.hostname === location.hostname)) return text.replace(/\/+$/, '');
  setTimeout(() => showError(`?server= ignored (only a server on ${location.hostname} is allowed); using ${location.origin}`), 0);
  return location.origin;
}

function parseIce(text) {
  if (!text) return [];
  try {
    const list = JSON.parse(text);
    if (Array.isArray(list)) return list;
  } catch { /* fall through */ }
  // Shown once the page is up; a wrong ?ice= should not stop the demo.
  setTimeout(() => showError('?ice= is not a JSON list of ICE servers; using none'), 0);
  return [];
}

// sessionStorage, not localStorage: it is per tab, so a reload keeps the account but a second tab
// is a second player (the server allows one connection per account).
const store = {
  key: (name) => `omega-demo:${server}:${name}`,
  get(name) { return sessionStorage.getItem(this.key(name)); },
  set(name, value) { sessionStorage.setItem(this.key(name), value); },
  remove(name) { sessionStorage.removeItem(this.key(name)); },
};

// -- page state --------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

let ugi = null;        // the game
let client = null;     // the OmegaClient while connected (it reconnects by itself)
let lobby = null;      // the lobby this page shows, as the page last saw it (client.lobby is the truth)
const lobbies = new Map();   // lobby id -> LOBBY_INFO payload (or {} until known), for the list
const names = new Map();     // account id -> user name, for messages about members who left
const links = new Map();     // peer id -> RTCPeerConnection state from the 'link' event
let roster = null;     // as a peer: the member list the host sent over the DataChannel
let lobbyFacts = {};   // {locked, max_peers} as far as this page knows
let hostLeft = false;  // HOST_GONE seen in this lobby (to tell a closed lobby from a kick)
let connecting = 0;    // the number of the latest connectNow() (a newer call or a log-out wins)
let refreshing = null; // the lobby list refresh in flight: {client, promise}

// -- start -------------------------------------------------------------------------------------------

init().catch((err) => showError(err, 'Start-up failed'));

async function init() {
  wireUi();
  ugi = params.get('ugi') || await demoGameUgi() || store.get('ugi');
  if (!ugi) {
    show('ugi-panel', true);
    return;
  }
  afterUgi();
}

// The demo server (omega-server --demo) says which game it made.
async function demoGameUgi() {
  try {
    const res = await fetch(`${server}/demo-game.json`);
    if (!res.ok) return null;
    const game = await res.json();
    if (game.name) $('game-name').textContent = game.name;
    return typeof game.ugi === 'string' ? game.ugi : null;
  } catch {
    return null;  // not served (an older server, or another origin without CORS): ask instead
  }
}

function afterUgi() {
  show('ugi-panel', false);
  if (store.get('token')) {
    connectNow();          // a reload: same tab, same account
  } else {
    showAccount();
  }
}

// -- accounts (HTTP API) -----------------------------------------------------------------------------

function showAccount() {
  show('account-panel', true);
  show('offline-panel', false);
  setStatus('offline', 'offline');
}

function randomHex(bytes) {
  const a = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A guest is an ordinary account with a random name and password that nobody needs to remember:
// the token, kept in this tab, is all the page uses afterwards.
async function playAsGuest() {
  for (let attempt = 0; ; attempt++) {
    const username = `guest-${randomHex(3)}`;
    const email = `${username}@guest.invalid`;  // .invalid is reserved: it can never receive mail
    const password = randomHex(16);
    try {
      await register(server, { username, email, password });
    } catch (err) {
      if (err?.code === 'HTTP_409' && attempt < 3) continue;  // the name is taken: pick another
      throw err;
    }
    return loggedIn(await login(server, { email, password }), username);
  }
}

async function registerAndLogIn() {
  const username = $('username').value.trim();
  const email = $('email').value.trim();
  const password = $('password').value;
  await register(server, { username, email, password });
  loggedIn(await login(server, { email, password }), username);
}

async function logIn() {
  const email = $('email').value.trim();
  loggedIn(await login(server, { email, password: $('password').value }), email);
}

function loggedIn(token, label) {
  store.set('token', token);
  store.set('label', label);
  $('password').value = '';
  connectNow();
}

function logOut() {
  connecting += 1;  // a connectNow() still trying gives up, closing what it gets
  const c = client;
  client = null;
  c?.close();
  store.remove('token');
  store.remove('label');
  resetLobby();
  $('me').textContent = 'not logged in';
  show('logout', false);
  render();
  showAccount();
}

// -- signaling connection ---------------------------------------------------------------------------

async function connectNow() {
  // Only the latest call goes on (a double click, a log-out during the retries): an older one
  // closes the client it got and stops.
  const mine = ++connecting;
  const stale = () => mine !== connecting;
  show('account-panel', false);
  show('offline-panel', false);
  setStatus('connecting', `connecting as ${store.get('label') || '…'}`);
  const token = store.get('token');
  let c;
  // A reload can beat the server to noticing that the old page's socket is gone; then INIT says
  // SESSION_EXISTS for a moment. Try a few times before blaming another tab.
  for (let attempt = 0; ; attempt++) {
    try {
      c = await connect(server, { ugi, token, iceServers });
      break;
    } catch (err) {
      if (stale()) return;
      if (err?.code === 'SESSION_EXISTS' && attempt < 4) {
        await sleep(750);
        if (stale()) return;
        continue;
      }
      return connectFailed(err);
    }
  }
  if (stale()) {
    c.close();
    return;
  }
  client = c;
  attach(c);
  const { me } = c;
  names.set(me.id, me.user);
  $('me').textContent = `you are ${me.user}`;
  $('me').dataset.id = me.id;
  $('me').dataset.user = me.user;
  $('game-name').textContent = `${me.game} by ${me.developer}`;
  show('logout', true);
  if (!$('lobby-name').value) $('lobby-name').value = `${me.user}-lobby`;
  // connect() resolves after INIT_OK, before we could listen to 'frame': note the handshake here.
  logNote(`INIT → INIT_OK: ${me.user} (${me.id}) in ${me.game}`);
  setStatus('connected', 'connected');
  render();
  refreshLobbies().catch((err) => showError(err, 'Could not list the lobbies'));
}

const SESSION_EXISTS_TEXT = 'This account is connected elsewhere, or the server still holds the old '
  + 'connection. Wait, then connect again.';

function connectFailed(err) {
  const code = err?.code;
  if (code === 'SESSION_EXISTS') {
    // The token is still good: keep it (a guest has no password to log in with again). Another
    // tab has the account (e.g. "Duplicate tab"), or the server has not yet dropped a connection
    // that died silently (it does after its idle timeout, by default within about 6 minutes).
    showError(SESSION_EXISTS_TEXT);
    $('error').dataset.code = code;
    show('logout', true);  // or use another account
    offline('This account is connected elsewhere.');
    return;
  }
  if (code === 'TOKEN_INVALID' || code === 'TOKEN_EXPIRED' || code === 'TOKEN_ORIGIN_MISMATCH') {
    // The token is of no use here: forget it and log in afresh.
    store.remove('token');
    showError(err, 'Could not connect; log in again');
    showAccount();
    return;
  }
  if (code === 'VIOLATION') {
    // An unknown UGI is refused this way.
    store.remove('ugi');
    showError(err, `The server refused game ${ugi}`);
    $('ugi').value = ugi;
    setStatus('error', 'not connected');
    show('ugi-panel', true);
    return;
  }
  showError(err, 'Could not connect');
  offline('Could not reach the server.');
}

function offline(reason) {
  setStatus('offline', 'offline');
  $('offline-reason').textContent = reason;
  show('offline-panel', true);
  render();
}

// Every protocol notification arrives as an event, after the client has updated its state
// (client.lobby, client.role, client.hostId, client.peers); the page re-renders from that state.
function attach(c) {
  c.on('frame', ({ dir, frame }) => logFrame(dir, frame));

  c.on('new_host', ({ id, user, lobby_id }) => {
    // Lobby-less connections hear of every new password-less lobby of the game.
    names.set(id, user);
    lobbies.set(lobby_id, { ...lobbies.get(lobby_id), lobby_host_id: id, lobby_host_username: user });
    render();
  });

  c.on('lobby_close', (lobbyId) => {
    lobbies.delete(lobbyId);
    if (lobbyId === lobby) {
      // A peer hears LOBBY_CLOSE when the lobby ends (after HOST_GONE) or when the host kicks it.
      system(hostLeft ? `Lobby ${lobbyId} closed.` : `The host removed you from lobby ${lobbyId}.`);
      leftLobby();
    }
    render();
  });

  c.on('new_peer', ({ id, user }) => {
    names.set(id, user);
    system(`${user} joined; connecting…`);
    sendRoster();
    render();
  });

  c.on('peer_gone', (id) => {
    system(`${names.get(id) ?? id} left.`);
    links.delete(id);
    sendRoster();
    render();
  });

  c.on('host_gone', (id) => {
    hostLeft = true;
    system(`The host ${names.get(id) ?? id} left.`);
    links.clear();
    roster = null;
    render();
  });

  c.on('host_reclaim', ({ id, user }) => {
    // A new host: the client drops its links and builds the star again around the new host.
    names.set(id, user);
    hostLeft = false;
    system(id === c.me.id ? 'You are the host now.' : `${user} is the host now.`);
    links.clear();
    roster = null;
    render();
  });

  c.on('link', ({ peer, state }) => {
    links.set(peer, state);
    render();
  });

  c.on('channel', ({ peer, channel }) => {
    system(`DataChannel to ${names.get(peer) ?? peer} open.`);
    channel.addEventListener('close', render);
    sendRoster();
    render();
  });

  c.on('message', ({ peer, data }) => onMessage(peer, data));

  c.on('warning', (reason) => showError(new OmegaError('WARNING', reason)));

  c.on('disconnected', () => setStatus('reconnecting', 'connection lost; reconnecting…'));
  c.on('reconnecting', ({ attempt, delay }) =>
    setStatus('reconnecting', `reconnecting (attempt ${attempt}, in ${Math.round(delay / 100) / 10} s)…`));
  c.on('reconnected', ({ lobby: was, resumed }) => {
    setStatus('connected', 'connected');
    // Resumed: still in the lobby ('resumed' follows). Had we been in a lobby otherwise,
    // 'session_lost' follows and refreshes the list (leftLobby).
    if (was === null && !resumed) refreshLobbies().catch((err) => showError(err, 'Could not list the lobbies'));
  });
  c.on('resumed', ({ lobby: id, dropped }) => {
    if (id !== null) {
      system(`The connection dropped and came back: still in lobby ${id}`
        + `${dropped ? ` (${dropped} signaling frames were lost meanwhile)` : ''}.`);
    }
    render();
  });
  c.on('session_lost', ({ lobby: id, reason }) => {
    // The server could not keep the lobby membership: after the reconnect we are lobby-less.
    system(`The connection dropped, so you left lobby ${id}${reason ? ` (${reason})` : ''}.`);
    leftLobby();
    render();
  });

  c.on('closed', ({ reason }) => {
    if (client !== c) return;  // we closed it ourselves (log out, leave)
    client = null;
    resetLobby();
    offline(reason ? `The connection ended: ${reason}` : 'The connection ended.');
  });
}

// -- lobbies -----------------------------------------------------------------------------------------

// One refresh at a time per client: a click on Refresh while one is in flight joins it.
function refreshLobbies() {
  const c = client;
  if (!c || c.lobby) return Promise.resolve();
  if (refreshing?.client === c) return refreshing.promise;
  const promise = loadLobbies(c).finally(() => {
    if (refreshing?.promise !== promise) return;  // another client's refresh took over
    refreshing = null;
    $('refresh').disabled = false;
  });
  refreshing = { client: c, promise };
  $('refresh').disabled = true;
  return promise;
}

async function loadLobbies(c) {
  const ids = await c.lobbies();
  if (client !== c) return;  // logged out or reconnected as another client meanwhile
  lobbies.clear();
  for (const id of ids) lobbies.set(id, {});
  render();
  // Details for the first few; LOBBY_INFO is rate-limited like LOBBY_LIST (10/s after a burst).
  await Promise.all(ids.slice(0, 20).map(async (id) => {
    try {
      const info = await c.info(id);
      if (client === c && lobbies.has(id)) lobbies.set(id, info);
    } catch { /* closed meanwhile */ }
  }));
  render();
}

async function createLobby() {
  const name = $('lobby-name').value.trim();
  // The server refuses an empty lobby id as a VIOLATION, which ends the connection for good.
  if (!name) throw new Error('Give the lobby a name (not just spaces).');
  const maxPeers = Number($('max-peers').value) || 0;
  const password = $('lobby-password').value || undefined;  // empty = no password
  const reclaim = $('reclaim').checked;
  const peersMayClaim = reclaim && $('peers-may-claim').checked;
  await client.host({ lobby: name, maxPeers, password, reclaim, peersMayClaim });
  enteredLobby(name);
  lobbyFacts = { locked: false, max_peers: maxPeers, password: Boolean(password) };
  $('size-input').value = String(maxPeers);
  system(`You host ${name}. Open this page in another tab and join it.`);
  render();
}

// Join from the list or by name. LOBBY_INFO tells whether a password is needed before trying.
async function joinLobby(id, password) {
  if (!id) throw new Error('Type the name of the lobby to join (not just spaces).');
  if (password === undefined) {
    const info = await client.info(id);
    if (info.password_required) {
      askPassword(id);
      return;
    }
  }
  let host;
  try {
    host = await client.join(id, { password });
  } catch (err) {
    if (err?.code === 'PASSWORD_REQUIRED' || err?.code === 'PASSWORD_FAIL') askPassword(id);
    throw err;
  }
  show('join-password-row', false);
  names.set(host.id, host.user);
  enteredLobby(id);
  system(`You joined ${id}, hosted by ${host.user}. Waiting for the DataChannel…`);
  render();
  // The facts shown under the lobby title; not needed to play.
  client.info(id).then((info) => { lobbyFacts = info; render(); }, () => {});
}

function askPassword(id) {
  $('join-password-lobby').textContent = id;
  $('join-password-row').dataset.lobby = id;
  $('join-password').value = '';
  show('join-password-row', true);
  $('join-password').focus();
}

function enteredLobby(id) {
  lobby = id;
  roster = null;
  hostLeft = false;
  links.clear();
  $('chat-log').replaceChildren();
}

function leftLobby() {
  resetLobby();
  refreshLobbies().catch(() => {});
}

function resetLobby() {
  lobby = null;
  roster = null;
  links.clear();
  lobbyFacts = {};
}

// The protocol has no "leave lobby": a member leaves by closing its connection. So: close, and
// connect again as the same account (the server may take a moment to free the session).
async function leaveLobby() {
  const c = client;
  client = null;
  c?.close();
  resetLobby();
  render();
  await connectNow();
}

// -- the game: messages over the DataChannels ------------------------------------------------------
//
// The links form a star: the host has a DataChannel to each peer, a peer has one to the host. So
// the host relays: a peer's chat goes to the host, which shows it and forwards it to the others,
// and the host tells every peer who is in the lobby. Messages are JSON text:
//   {type: 'chat', from, user, text}
//   {type: 'members', members: [{id, user, role}]}   (host -> peers)

function onMessage(peer, data) {
  let msg;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch {
    return;  // not ours
  }
  if (client.role === 'host') {
    if (msg?.type !== 'chat') return;
    // Stamp the sender from the channel it came on: a peer cannot speak for another.
    const out = { type: 'chat', from: peer, user: names.get(peer) ?? peer, text: String(msg.text ?? '').slice(0, 500) };
    showChat(out);
    for (const id of client.channels.keys()) {
      if (id !== peer) trySend(id, out);
    }
  } else if (peer === client.hostId) {
    if (msg?.type === 'chat') {
      showChat({ ...msg, text: String(msg.text ?? '') });
    } else if (msg?.type === 'members' && Array.isArray(msg.members)) {
      roster = msg.members;
      for (const m of roster) names.set(m.id, m.user);
      render();
    }
  }
}

function sendChat() {
  const text = $('chat-input').value.trim();
  if (!text || !client?.lobby) return;
  const msg = { type: 'chat', from: client.me.id, user: client.me.user, text };
  const json = JSON.stringify(msg);
  let sent;
  if (client.role === 'host') {
    sent = client.broadcast(json);          // every open channel: every peer
  } else {
    sent = trySend(client.hostId, msg) ? 1 : 0;  // the host forwards it to the others
  }
  if (!sent) {
    system('Nobody to talk to yet: no DataChannel is open.');
    return;
  }
  $('chat-input').value = '';
  showChat(msg);
}

// The host's member list, for the peers (who otherwise only know the host).
function sendRoster() {
  if (client?.role !== 'host') return;
  const members = currentMembers().map(({ id, user, role }) => ({ id, user, role }));
  client.broadcast(JSON.stringify({ type: 'members', members }));
}

function trySend(id, msg) {
  try {
    client.send(id, JSON.stringify(msg));
    return true;
  } catch {
    return false;  // that channel just closed
  }
}

// -- rendering ---------------------------------------------------------------------------------------

function currentMembers() {
  const c = client;
  if (!c?.lobby) return [];
  const me = { id: c.me.id, user: c.me.user, role: c.role };
  if (c.role === 'host') {
    return [me, ...[...c.peers.values()].map((p) => ({ id: p.id, user: p.user, role: 'peer' }))];
  }
  if (roster) {
    // The host's list; if the host is not in it (a reclaim in progress), add what we know.
    return roster.map((m) => (m.id === me.id ? { ...m, role: c.role } : m));
  }
  const hosts = [...c.peers.values()].map((p) => ({ id: p.id, user: p.user, role: 'host' }));
  return [...hosts, me];
}

function render() {
  const c = client;
  const inLobby = Boolean(c?.lobby);
  if (c && !inLobby && lobby) resetLobby();  // left without an event we showed (e.g. a kick)
  show('lobbies-panel', Boolean(c) && !inLobby);
  show('lobby-panel', inLobby);
  renderLobbyList();
  if (inLobby) renderLobby(c);
}

function renderLobbyList() {
  const list = $('lobby-list');
  const items = [...lobbies.keys()].sort().map((id) => {
    const info = lobbies.get(id);
    const li = el('li', { 'data-lobby': id, 'data-testid': 'lobby' });
    const label = el('span', { class: 'grow' });
    label.append(el('b', {}, id));
    const facts = [];
    if (info.lobby_host_username) facts.push(`host ${info.lobby_host_username}`);
    if (info.current_peers !== undefined) {
      facts.push(`${info.current_peers}${info.max_peers ? `/${info.max_peers}` : ''} peers`);
    }
    if (info.locked) facts.push('locked');
    if (facts.length) label.append(' ', el('span', { class: 'muted' }, facts.join(' · ')));
    const join = el('button', { type: 'button', class: 'small join', 'data-action': 'join' }, 'Join');
    join.addEventListener('click', () => run(() => joinLobby(id), `Could not join ${id}`));
    li.append(label, join);
    return li;
  });
  list.replaceChildren(...items);
  show('lobby-empty', items.length === 0);
}

function renderLobby(c) {
  lobby = c.lobby;
  $('lobby-title').textContent = c.lobby;
  $('my-role').textContent = c.role ?? '';
  $('my-role').dataset.role = c.role ?? '';
  const isHost = c.role === 'host';

  const facts = [];
  if (lobbyFacts.max_peers !== undefined) facts.push(lobbyFacts.max_peers ? `at most ${lobbyFacts.max_peers} peers` : 'no peer limit');
  if (lobbyFacts.locked !== undefined) facts.push(lobbyFacts.locked ? 'locked: nobody can join' : 'open to join');
  if (lobbyFacts.password || lobbyFacts.password_required) facts.push('password');
  $('lobby-facts').textContent = facts.join(' · ');

  const rows = currentMembers().map((m) => memberRow(c, m, isHost));
  $('members').replaceChildren(...rows);

  show('host-actions', isHost);
  show('lock', isHost && !lobbyFacts.locked);
  show('unlock', isHost && Boolean(lobbyFacts.locked));
  show('claim-row', c.role === 'peer' && !c.hostId);
  const canTalk = c.channels.size > 0;
  $('chat-send').disabled = !canTalk;
  $('chat-input').placeholder = canTalk ? 'Say something' : 'Waiting for a DataChannel…';
}

// One member: name, role, and the state of our WebRTC link to it. A peer has a link only to the
// host; it reaches the other peers through the host.
function memberRow(c, m, isHost) {
  const self = m.id === c.me.id;
  const direct = !self && (isHost || m.id === c.hostId);
  const channel = direct && c.channels.get(m.id);
  const open = Boolean(channel) && channel.readyState === 'open';
  const state = self ? 'you' : !direct ? 'via host' : open ? 'channel open' : (links.get(m.id) ?? 'waiting');

  const li = el('li', {
    'data-testid': 'member', 'data-id': m.id, 'data-user': m.user, 'data-role': m.role,
    'data-link': self ? 'self' : direct ? (links.get(m.id) ?? 'new') : 'relayed',
    'data-channel': open ? 'open' : 'none',
  });
  const name = el('span', { class: 'grow' });
  name.append(el('b', {}, m.user), ' ', el('span', { class: `badge role-${m.role}` }, m.role));
  const stateClass = open ? 'ok' : ['failed', 'closed', 'disconnected'].includes(links.get(m.id)) ? 'bad' : 'wait';
  li.append(name, el('span', { class: `link ${self || !direct ? '' : stateClass}` }, state));
  if (isHost && !self) {
    const kick = el('button', { type: 'button', class: 'small secondary', 'data-action': 'kick' }, 'Kick');
    kick.addEventListener('click', () => run(() => c.kick(m.id), `Could not kick ${m.user}`));
    const transfer = el('button', { type: 'button', class: 'small secondary', 'data-action': 'transfer' }, 'Make host');
    transfer.addEventListener('click', () => run(() => c.transferHost(m.id), `Could not make ${m.user} the host`));
    li.append(kick, transfer);
  }
  return li;
}

function showChat({ from, user, text }) {
  const mine = from === client?.me.id;
  const li = el('li', { 'data-testid': 'chat-line', 'data-from': from ?? '', class: mine ? 'mine' : '' });
  // textContent, never innerHTML: chat text comes from other players.
  li.append(el('b', {}, user ?? from ?? '?'), ' ', el('span', {}, text));
  appendScrolled($('chat-log'), li, 200);
}

function system(text) {
  const li = el('li', { 'data-testid': 'chat-line', class: 'system' }, text);
  appendScrolled($('chat-log'), li, 200);
}

// -- the frame log -----------------------------------------------------------------------------------

function logFrame(dir, frame) {
  if (typeof frame === 'string') {
    try { frame = JSON.parse(frame); } catch { /* show it as it is */ }
  }
  const opcode = frame?.opcode ?? '?';
  const li = el('li', { 'data-dir': dir, 'data-opcode': opcode, class: dir });
  li.append(
    el('span', { class: 'time' }, new Date().toLocaleTimeString()),
    el('span', { class: 'dir' }, dir === 'out' ? '→' : '←'),
    el('b', {}, opcode),
    el('code', {}, describe(frame)),
  );
  appendScrolled($('frame-log'), li, 500);
}

function logNote(text) {
  const li = el('li', { 'data-dir': 'note', class: 'note' }, text);
  appendScrolled($('frame-log'), li, 500);
}

// The frame without its opcode, compact: the payload as JSON (secrets masked, long strings such as
// SDP shortened), then "to"/"from" with the member's name when known, and "#listener".
function describe(frame) {
  if (typeof frame !== 'object' || frame === null) return String(frame);
  const parts = [];
  if (frame.payload !== undefined) {
    const payload = frame.opcode === 'INIT' ? '«token»' : frame.payload;
    parts.push(JSON.stringify(payload, (key, value) => {
      if (key === 'password' && typeof value === 'string') return '•••';
      if (typeof value === 'string' && value.length > 160) return `${value.slice(0, 80)}… (${value.length} chars)`;
      return value;
    }));
  }
  const who = (id) => (names.has(id) ? `${names.get(id)}` : id);
  if (frame.recipient) parts.push(`to ${who(frame.recipient)}`);
  if (frame.origin) parts.push(`from ${who(typeof frame.origin === 'string' ? frame.origin : frame.origin.id)}`);
  if (frame.listener) parts.push(`#${frame.listener}`);
  return parts.join('  ');
}

// -- small helpers -----------------------------------------------------------------------------------

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function appendScrolled(list, item, keep) {
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.append(item);
  while (list.children.length > keep) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// The [hidden] attribute, styled display:none in demo.css: no inline styles (the CSP forbids them).
function show(id, visible) {
  $(id).hidden = !visible;
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// What an error means for the player. The codes are the protocol's (OmegaError.code).
const EXPLAIN = {
  LOBBY_FULL: 'the lobby is full',
  LOBBY_LOCKED: 'the lobby is locked (or waiting for a new host, or too many wrong passwords)',
  LOBBY_NOTFOUND: 'there is no lobby of that name in this game',
  LOBBY_EXISTS: 'a lobby of that name already exists; pick another name',
  PASSWORD_REQUIRED: 'this lobby needs a password',
  PASSWORD_FAIL: 'wrong password',
  ALREADY_HOST: 'you already host a lobby',
  ALREADY_PEER: 'you are already in a lobby',
  NOT_HOST: 'only the host can do that',
  NOT_PEER: 'only a peer can do that',
  PEER_INVALID: 'that player is not in the lobby',
  TOKEN_INVALID: 'the server does not know this session (a fresh data folder?)',
  TOKEN_EXPIRED: 'the session expired',
  TOKEN_ORIGIN_MISMATCH: 'the session was issued to another web site',
  SESSION_EXISTS: 'this account is connected elsewhere, or the server still holds its old connection',
  CONFIG_REQUIRED: 'not logged in on this connection',
  TIMEOUT: 'the server did not answer in time',
  DISCONNECTED: 'the connection to the server was lost',
  CLOSED: 'not connected',
  WARNING: 'the server declined',
  VIOLATION: 'the server refused the request',
  HTTP_400: 'check the fields: username 3–20 letters, digits, _ - or .; a valid email; password 8–128 characters',
  HTTP_401: 'wrong email or password',
  HTTP_409: 'that username or email is already registered',
  HTTP_429: 'too many attempts; wait a minute',
  HTTP_503: 'the server is busy; try again shortly',
};

function explain(err) {
  if (err instanceof OmegaError || (err && typeof err.code === 'string')) {
    const detail = typeof err.payload === 'string' ? err.payload
      : err.payload?.error ?? (err.message && err.message !== err.code ? err.message : '');
    const meaning = EXPLAIN[err.code] ?? err.code;
    return `${meaning} (${err.code}${detail && detail !== meaning ? `: ${detail}` : ''})`;
  }
  // The client's own checks (e.g. a lobby name too long) throw TypeErrors starting with "omega:";
  // fetch throws one when the server cannot be reached.
  if (err instanceof TypeError && String(err.message).startsWith('omega:')) return err.message.slice(7);
  if (err instanceof TypeError) return `cannot reach the server at ${server} (${err.message})`;
  return String(err?.message ?? err);
}

function showError(err, context) {
  const text = typeof err === 'string' ? err : explain(err);
  $('error-text').textContent = context ? `${context}: ${text}` : text;
  $('error').dataset.code = err?.code ?? '';
  show('error', true);
}

// Runs a UI action, showing its error instead of losing it in the console.
async function run(action, context) {
  try {
    show('error', false);
    await action();
  } catch (err) {
    showError(err, context);
  }
}

// -- wiring the page ---------------------------------------------------------------------------------

function onSubmit(id, action, context) {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    run(action, context);
  });
}

function onClick(id, action, context) {
  $(id).addEventListener('click', () => run(action, context));
}

function wireUi() {
  onSubmit('ugi-form', () => {
    ugi = $('ugi').value.trim();
    store.set('ugi', ugi);
    afterUgi();
  });
  onClick('guest', playAsGuest, 'Could not play as guest');
  onSubmit('account-form', logIn, 'Could not log in');
  onClick('register', registerAndLogIn, 'Could not register');
  onClick('logout', logOut);
  onClick('connect', connectNow, 'Could not connect');
  onClick('refresh', refreshLobbies, 'Could not list the lobbies');
  onSubmit('create-form', createLobby, 'Could not create the lobby');
  onSubmit('join-form', () => joinLobby($('join-id').value.trim()), 'Could not join');
  onSubmit('join-password-row',
    () => joinLobby($('join-password-row').dataset.lobby, $('join-password').value), 'Could not join');
  onClick('join-password-cancel', () => show('join-password-row', false));
  onClick('leave', leaveLobby, 'Could not leave');
  onClick('lock', async () => { lobbyFacts.locked = (await client.lock()).locked; render(); }, 'Could not lock');
  onClick('unlock', async () => { lobbyFacts.locked = (await client.unlock()).locked; render(); }, 'Could not unlock');
  onSubmit('size-form', async () => {
    lobbyFacts.max_peers = (await client.size(Number($('size-input').value) || 0)).max_peers;
    render();
  }, 'Could not set the size');
  onClick('claim', () => client.claimHost(), 'Could not claim the host');
  onSubmit('chat-form', sendChat, 'Could not send');
  onClick('frame-clear', () => $('frame-log').replaceChildren());
  onClick('error-close', () => show('error', false));
}
