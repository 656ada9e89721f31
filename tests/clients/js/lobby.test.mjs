// Every lobby command and its success shape, every error code a command can
// get, the notifications and the state they leave, and listener matching.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as omega from '../../../clients/js/omega-client.js';
import {
  Fixture, rejectsWith, nextEvent, eventWhere, recordEvents, sleep, uniqueName, withTimeout,
} from './server.mjs';

const T = {timeout: 40000};
const fx = new Fixture(omega, WebSocket);
let server, ugi;

before(async () => {
  server = await fx.server();
  ugi = await server.addGame(uniqueName('game'), 'lobby-devs');
});
after(() => fx.cleanup());

const client = (prefix = 'p', extra = {}) => fx.client(server, ugi, {prefix, ...extra});
const lobbyName = () => uniqueName('lob');
const NO_SUCH_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

/** A host of a fresh lobby (host() options in `opts`) and its id. */
async function hosted(opts = {}, prefix = 'h') {
  const h = await client(prefix);
  const lobby = opts.lobby ?? lobbyName();
  await h.host({...opts, lobby});
  return {h, lobby};
}

/** `p` joins `lobby` of host `h`; resolves once both sides saw it. */
async function joined(h, p, lobby, opts) {
  const seen = eventWhere(h, 'new_peer', (e) => e.id === p.me.id);
  const ack = await p.join(lobby, opts);
  await seen;
  return ack;
}

function state(c) {
  return {lobby: c.lobby, role: c.role, hostId: c.hostId, peers: [...c.peers.keys()].sort()};
}

describe('host and join', () => {
  it('host() resolves {lobby_id} and makes the client the host', T, async () => {
    const h = await client('h');
    const lobby = lobbyName();
    const res = await h.host({lobby});
    assert.deepEqual(res, {lobby_id: lobby});
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: []});
  });

  it('join() resolves ACK_PEER naming the host; the host gets new_peer', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('j');
    const newPeer = nextEvent(h, 'new_peer');
    const ack = await p.join(lobby);
    assert.equal(ack.lobby_id, lobby);
    assert.equal(ack.id, h.me.id);
    assert.equal(ack.user, h.me.user);
    const np = await newPeer;
    assert.deepEqual({id: np.id, user: np.user}, {id: p.me.id, user: p.me.user});
    assert.deepEqual(state(p), {lobby, role: 'peer', hostId: h.me.id, peers: [h.me.id]});
    assert.deepEqual(p.peers.get(h.me.id), {id: h.me.id, user: h.me.user});
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: [p.me.id]});
    assert.deepEqual({...h.peers.get(p.me.id)}, {id: p.me.id, user: p.me.user});
  });

  it('pubkeys: ACK_PEER carries the host\'s, NEW_PEER the peer\'s', T, async () => {
    const {h, lobby} = await hosted({pubkey: 'host-public-key'});
    const p = await client('pk');
    const newPeer = nextEvent(h, 'new_peer');
    const ack = await p.join(lobby, {pubkey: 'peer-public-key'});
    assert.equal(ack.pubkey, 'host-public-key');
    const np = await newPeer;
    assert.equal(np.id, p.me.id);
    assert.equal(np.pubkey, 'peer-public-key');
  });

  it('join() with the right password resolves ACK_PEER (PASSWORD_ACK skipped)', T, async () => {
    const {h, lobby} = await hosted({password: 'open sesame'});
    const p = await client('jp');
    const ack = await joined(h, p, lobby, {password: 'open sesame'});
    assert.equal(ack.lobby_id, lobby);
    assert.equal(ack.id, h.me.id);
    assert.equal(p.role, 'peer');
    assert.equal(p.hostId, h.me.id);
  });

  it('PASSWORD_REQUIRED without a password, PASSWORD_FAIL (after ~0.5 s) with a wrong one', T, async () => {
    const {lobby} = await hosted({password: 'open sesame'});
    const p = await client('pw');
    await rejectsWith(omega, p.join(lobby), 'PASSWORD_REQUIRED');
    await rejectsWith(omega, p.join(lobby, {password: ''}), 'PASSWORD_REQUIRED');
    const t0 = Date.now();
    await rejectsWith(omega, p.join(lobby, {password: 'wrong'}), 'PASSWORD_FAIL');
    assert.ok(Date.now() - t0 >= 400, `PASSWORD_FAIL came after ${Date.now() - t0} ms`);
    assert.deepEqual(state(p), {lobby: null, role: null, hostId: null, peers: []});
  });

  it('LOBBY_EXISTS, LOBBY_NOTFOUND', T, async () => {
    const {lobby} = await hosted();
    const other = await client('ex');
    await rejectsWith(omega, other.host({lobby}), 'LOBBY_EXISTS');
    await rejectsWith(omega, other.join(lobbyName()), 'LOBBY_NOTFOUND');
    await rejectsWith(omega, other.info(lobbyName()), 'LOBBY_NOTFOUND');
    assert.deepEqual(state(other), {lobby: null, role: null, hostId: null, peers: []});
  });

  it('ALREADY_HOST and ALREADY_PEER', T, async () => {
    const {h, lobby} = await hosted();
    const {lobby: lobby2} = await hosted();
    const p = await client('ap');
    await joined(h, p, lobby);
    await rejectsWith(omega, h.host({lobby: lobbyName()}), 'ALREADY_HOST');
    await rejectsWith(omega, h.join(lobby2), 'ALREADY_HOST');
    await rejectsWith(omega, p.join(lobby2), 'ALREADY_PEER');
    await rejectsWith(omega, p.host({lobby: lobbyName()}), 'ALREADY_PEER');
    // nothing changed
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: [p.me.id]});
    assert.deepEqual(state(p), {lobby, role: 'peer', hostId: h.me.id, peers: [h.me.id]});
  });

  it('a lobby id or password the server would refuse with VIOLATION: a TypeError, nothing sent', T, async () => {
    const c = await client('bad');
    const frames = recordEvents(c, ['frame']);
    const closed = recordEvents(c, ['closed']);
    const typeError = (p) => assert.rejects(p, (e) => e instanceof TypeError && !(e instanceof omega.OmegaError));
    const long = 'x'.repeat(65);
    await typeError(c.host({lobby: ''}));
    await typeError(c.host({lobby: long}));
    await typeError(c.host({lobby: 42}));
    await typeError(c.host({lobby: lobbyName(), password: 'p'.repeat(129)}));
    await typeError(c.join(''));
    await typeError(c.join(long));
    await typeError(c.join(lobbyName(), {password: 'p'.repeat(129)}));
    await typeError(c.info(''));
    await typeError(c.info(long));
    await typeError(c.info(undefined));
    assert.equal(frames.filter((f) => f.value.dir === 'out').length, 0, 'no frame went out');
    // code points, as the server counts: 64 (or 128) astral characters are fine
    const emoji = '\u{1F600}'.repeat(64);
    await rejectsWith(omega, c.info(emoji), 'LOBBY_NOTFOUND');
    await rejectsWith(omega, c.join(emoji, {password: '\u{1F600}'.repeat(128)}), 'LOBBY_NOTFOUND');
    await typeError(c.info(emoji + 'x'));
    const lobby = lobbyName();
    await c.host({lobby, password: 'p'.repeat(128)});
    assert.equal(c.lobby, lobby);
    assert.equal(c.connected, true);
    assert.equal(closed.length, 0, "no 'closed'");
    frames.stop();
    closed.stop();
  });
});

describe('lobby queries', () => {
  it('lobbies() lists password-less lobbies only', T, async () => {
    const {h, lobby: open} = await hosted();
    const {lobby: secret} = await hosted({password: 'hush-hush'});
    const list = await h.lobbies();
    assert.ok(Array.isArray(list));
    assert.ok(list.includes(open), `${open} in ${JSON.stringify(list)}`);
    assert.ok(!list.includes(secret), `${secret} not in the list`);
  });

  it('info() resolves the LOBBY_INFO payload', T, async () => {
    const {h, lobby} = await hosted({maxPeers: 3, password: 'pw-of-info'});
    const p = await client('info');
    await joined(h, p, lobby, {password: 'pw-of-info'});
    const q = await client('info');
    assert.deepEqual(await q.info(lobby), {
      lobby_id: lobby, lobby_host_id: h.me.id, lobby_host_username: h.me.user,
      max_peers: 3, current_peers: 1, locked: false, password_required: true,
    });
  });
});

describe('host commands', () => {
  it('lock() / unlock() resolve {lobby_id, locked}; a locked lobby refuses LOBBY_LOCKED', T, async () => {
    const {h, lobby} = await hosted();
    assert.deepEqual(await h.lock(), {lobby_id: lobby, locked: true});
    const p = await client('lk');
    await rejectsWith(omega, p.join(lobby), 'LOBBY_LOCKED');
    assert.equal((await p.info(lobby)).locked, true);
    assert.deepEqual(await h.unlock(), {lobby_id: lobby, locked: false});
    await joined(h, p, lobby);
    assert.equal(p.lobby, lobby);
  });

  it('size(n) resolves {lobby_id, max_peers}; a full lobby refuses LOBBY_FULL', T, async () => {
    const {h, lobby} = await hosted({maxPeers: 1});
    const p1 = await client('sz');
    const p2 = await client('sz');
    await joined(h, p1, lobby);
    await rejectsWith(omega, p2.join(lobby), 'LOBBY_FULL');
    assert.deepEqual(await h.size(2), {lobby_id: lobby, max_peers: 2});
    await joined(h, p2, lobby);
    assert.deepEqual(await h.size(0), {lobby_id: lobby, max_peers: 0});
    assert.equal((await h.info(lobby)).current_peers, 2);
  });

  it('kick(id) resolves the id; the host gets peer_gone, the peer lobby_close', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('kk');
    await joined(h, p, lobby);
    const gone = nextEvent(h, 'peer_gone');
    const closed = nextEvent(p, 'lobby_close');
    assert.equal(await h.kick(p.me.id), p.me.id);
    assert.equal(await gone, p.me.id);
    assert.equal(await closed, lobby);
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: []});
    assert.deepEqual(state(p), {lobby: null, role: null, hostId: null, peers: []});
    // the kicked client is lobby-less again: it may host
    await p.host({lobby: lobbyName()});
    assert.equal(p.role, 'host');
  });

  it('transferHost(id) resolves HOST_RECLAIM; both sides get host_reclaim and swap roles', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('tr');
    await joined(h, p, lobby);
    const onPeer = nextEvent(p, 'host_reclaim');
    const onHost = nextEvent(h, 'host_reclaim');
    const res = await h.transferHost(p.me.id);
    const expected = {id: p.me.id, user: p.me.user, lobby_id: lobby};
    assert.deepEqual(res, expected);
    assert.deepEqual(await onHost, expected);
    assert.deepEqual(await onPeer, expected);
    assert.equal(h.role, 'peer');
    assert.equal(h.hostId, p.me.id);
    assert.equal(h.lobby, lobby);
    assert.ok(h.peers.has(p.me.id), 'the old host knows its new host');
    assert.equal(p.role, 'host');
    assert.equal(p.hostId, p.me.id);
    assert.equal(p.lobby, lobby);
    // the new host's commands work, the old host's get NOT_HOST
    assert.deepEqual(await p.lock(), {lobby_id: lobby, locked: true});
    await rejectsWith(omega, h.lock(), 'NOT_HOST');
  });

  it('NOT_HOST for host commands from a peer or a lobby-less client', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('nh');
    await joined(h, p, lobby);
    const l = await client('nh');
    for (const c of [p, l]) {
      await rejectsWith(omega, c.lock(), 'NOT_HOST');
      await rejectsWith(omega, c.unlock(), 'NOT_HOST');
      await rejectsWith(omega, c.size(3), 'NOT_HOST');
      await rejectsWith(omega, c.kick(h.me.id), 'NOT_HOST');
      await rejectsWith(omega, c.transferHost(h.me.id), 'NOT_HOST');
      await rejectsWith(omega, c.relay('MAKE_OFFER', h.me.id, {type: 'offer', sdp: 'x'}), 'NOT_HOST');
    }
  });

  it('NOT_PEER for peer commands from the host or a lobby-less client', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('np');
    await joined(h, p, lobby);
    const l = await client('np');
    await rejectsWith(omega, h.relay('MAKE_ANSWER', p.me.id, {type: 'answer', sdp: 'x'}), 'NOT_PEER');
    await rejectsWith(omega, h.claimHost(), 'NOT_PEER');
    await rejectsWith(omega, l.relay('MAKE_ANSWER', h.me.id, {type: 'answer', sdp: 'x'}), 'NOT_PEER');
    await rejectsWith(omega, l.claimHost(), 'NOT_PEER');
  });

  it('PEER_INVALID for unknown targets', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('pi');
    await joined(h, p, lobby);
    const l = await client('pi');
    await rejectsWith(omega, h.kick(NO_SUCH_ID), 'PEER_INVALID');
    await rejectsWith(omega, h.kick(h.me.id), 'PEER_INVALID');
    await rejectsWith(omega, h.transferHost(l.me.id), 'PEER_INVALID');
    await rejectsWith(omega, h.transferHost(h.me.id), 'PEER_INVALID');
    await rejectsWith(omega, h.relay('MAKE_OFFER', l.me.id, {type: 'offer', sdp: 'x'}), 'PEER_INVALID');
    await rejectsWith(omega, p.relay('MAKE_ANSWER', l.me.id, {type: 'answer', sdp: 'x'}), 'PEER_INVALID');
    await rejectsWith(omega, p.relay('ICE', NO_SUCH_ID, {candidate: 'c'}), 'PEER_INVALID');
    await rejectsWith(omega, l.relay('ICE', h.me.id, {candidate: 'c'}), 'PEER_INVALID');
    // the lobby is intact
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: [p.me.id]});
  });

  it("WARNING for claimHost() while the lobby has a host (payload: the reason)", T, async () => {
    const {h, lobby} = await hosted({reclaim: true, peersMayClaim: true});
    const p = await client('wc');
    await joined(h, p, lobby);
    const err = await rejectsWith(omega, p.claimHost(), 'WARNING');
    assert.equal(typeof err.payload, 'string');
    assert.equal(p.role, 'peer');
    assert.equal(p.hostId, h.me.id);
  });

  it("VIOLATION for size(-1): the command rejects, 'closed' fires, no reconnect", T, async () => {
    const {h} = await hosted({}, 'viol');
    const log = recordEvents(h, ['reconnecting', 'reconnected', 'closed']);
    const closed = nextEvent(h, 'closed');
    const err = await rejectsWith(omega, h.size(-1), 'VIOLATION');
    assert.equal(typeof err.payload, 'string');
    await closed;
    assert.equal(h.connected, false);
    await sleep(700); // longer than the reconnect minDelay (500 ms): none may start
    assert.deepEqual(log.map((e) => e.name), ['closed']);
    log.stop();
    await rejectsWith(omega, h.ping(), 'CLOSED');
  });
});

describe('ping and relays', () => {
  it('ping(payload) resolves the echoed payload', T, async () => {
    const c = await client('ping');
    assert.equal(await c.ping('hello'), 'hello');
    assert.equal(await c.ping(42), 42);
    assert.deepEqual(await c.ping({a: [1, null, 'x', {b: true}]}), {a: [1, null, 'x', {b: true}]});
    assert.equal(await c.ping(), undefined);
  });

  it("relays: MAKE_OFFER host→peer, MAKE_ANSWER peer→host, ICE both ways arrive as 'relay' events", T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('rl');
    await joined(h, p, lobby);

    const offer = {type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'};
    let got = nextEvent(p, 'relay');
    assert.equal(await h.relay('MAKE_OFFER', p.me.id, offer), undefined);
    assert.deepEqual(await got, {opcode: 'MAKE_OFFER', from: h.me.id, payload: offer});

    const answer = {type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n'};
    got = nextEvent(h, 'relay');
    assert.equal(await p.relay('MAKE_ANSWER', h.me.id, answer), undefined);
    assert.deepEqual(await got, {opcode: 'MAKE_ANSWER', from: p.me.id, payload: answer});

    const ice1 = {candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0};
    got = nextEvent(p, 'relay');
    assert.equal(await h.relay('ICE', p.me.id, ice1), undefined);
    assert.deepEqual(await got, {opcode: 'ICE', from: h.me.id, payload: ice1});

    const ice2 = {candidate: 'candidate:2 1 udp 2122260223 127.0.0.1 5001 typ host', sdpMid: '0', sdpMLineIndex: 0};
    got = nextEvent(h, 'relay');
    assert.equal(await p.relay('ICE', h.me.id, ice2), undefined);
    assert.deepEqual(await got, {opcode: 'ICE', from: p.me.id, payload: ice2});
  });
});

describe('listener matching', () => {
  it('many commands in flight at once each resolve with their own reply', T, async () => {
    const {h, lobby} = await hosted();
    const c = await client('many');
    const pings = Array.from({length: 20}, (_, i) => c.ping({n: i, s: `ping-${i}`}));
    const info = c.info(lobby);
    const list = c.lobbies();
    const missing = c.info(lobbyName());
    const hostInfo = h.info(lobby);
    const hostPings = Array.from({length: 5}, (_, i) => h.ping(`h${i}`));
    const missingErr = missing.then(() => null, (e) => e);
    const [pingResults, infoRes, listRes, err, hostInfoRes, hostPingResults] = await withTimeout(Promise.all([
      Promise.all(pings), info, list, missingErr, hostInfo, Promise.all(hostPings)]), 20000, 'all replies');
    pingResults.forEach((r, i) => assert.deepEqual(r, {n: i, s: `ping-${i}`}));
    assert.equal(infoRes.lobby_id, lobby);
    assert.equal(infoRes.lobby_host_id, h.me.id);
    assert.ok(Array.isArray(listRes) && listRes.includes(lobby));
    assert.ok(err instanceof omega.OmegaError);
    assert.equal(err.code, 'LOBBY_NOTFOUND');
    assert.equal(hostInfoRes.lobby_id, lobby);
    hostPingResults.forEach((r, i) => assert.equal(r, `h${i}`));
  });
});

describe('notifications', () => {
  it('new_host: a lobby-less client sees a password-less lobby created (not one with a password)', T, async () => {
    const game = await server.addGame(uniqueName('nh'), 'lobby-devs');
    const l = await fx.client(server, game, {prefix: 'nhl'});
    const h = await fx.client(server, game, {prefix: 'nhh'});
    const h2 = await fx.client(server, game, {prefix: 'nhh'});
    const log = recordEvents(l, ['new_host']);
    const secret = lobbyName();
    await h.host({lobby: secret, password: 'pw-of-secret'});
    const lobby = lobbyName();
    const seen = eventWhere(l, 'new_host', (e) => e.lobby_id === lobby);
    await h2.host({lobby});
    assert.deepEqual(await seen, {id: h2.me.id, user: h2.me.user, lobby_id: lobby});
    assert.ok(!log.some((e) => e.value.lobby_id === secret), 'no new_host for a lobby with a password');
    log.stop();
    assert.deepEqual(state(l), {lobby: null, role: null, hostId: null, peers: []});
  });

  it('peer_gone: the host sees a peer that closes', T, async () => {
    const {h, lobby} = await hosted();
    const p = await client('pg');
    await joined(h, p, lobby);
    const gone = nextEvent(h, 'peer_gone');
    p.close();
    assert.equal(await gone, p.me.id);
    assert.deepEqual(state(h), {lobby, role: 'host', hostId: h.me.id, peers: []});
  });

  it('host_gone then lobby_close when a host without reclaim closes', T, async () => {
    const game = await server.addGame(uniqueName('hg'), 'lobby-devs');
    const h = await fx.client(server, game, {prefix: 'hgh'});
    const lobby = lobbyName();
    await h.host({lobby});
    const p = await fx.client(server, game, {prefix: 'hgp'});
    await joined(h, p, lobby);
    const l = await fx.client(server, game, {prefix: 'hgl'});
    const events = [];
    let atHostGone;
    p.on('host_gone', (v) => { events.push(['host_gone', v]); atHostGone = {lobby: p.lobby, hostId: p.hostId}; });
    p.on('lobby_close', (v) => events.push(['lobby_close', v]));
    const closedForP = nextEvent(p, 'lobby_close');
    const closedForL = eventWhere(l, 'lobby_close', (v) => v === lobby);
    h.close();
    await closedForP;
    assert.deepEqual(events, [['host_gone', h.me.id], ['lobby_close', lobby]]);
    assert.equal(atHostGone.hostId, null, 'no host after host_gone');
    assert.deepEqual(state(p), {lobby: null, role: null, hostId: null, peers: []});
    assert.equal(await closedForL, lobby);
    assert.deepEqual(state(l), {lobby: null, role: null, hostId: null, peers: []});
    // the peer is lobby-less and connected
    assert.equal(await p.ping('still here'), 'still here');
  });

  it('host_reclaim: with reclaim the server makes the earliest peer the host', T, async () => {
    const {h, lobby} = await hosted({reclaim: true});
    const p1 = await client('rc');
    const p2 = await client('rc');
    await joined(h, p1, lobby);
    await joined(h, p2, lobby);
    const r1 = nextEvent(p1, 'host_reclaim');
    const r2 = nextEvent(p2, 'host_reclaim');
    const g1 = nextEvent(p1, 'host_gone');
    const g2 = nextEvent(p2, 'host_gone');
    h.close();
    assert.equal(await g1, h.me.id);
    assert.equal(await g2, h.me.id);
    const expected = {id: p1.me.id, user: p1.me.user, lobby_id: lobby};
    assert.deepEqual(await r1, expected);
    assert.deepEqual(await r2, expected);
    assert.equal(p1.lobby, lobby);
    assert.equal(p1.role, 'host');
    assert.equal(p1.hostId, p1.me.id);
    assert.equal(p2.lobby, lobby);
    assert.equal(p2.role, 'peer');
    assert.equal(p2.hostId, p1.me.id);
    assert.deepEqual([...p2.peers.keys()], [p1.me.id]);
    // the new host commands the lobby
    assert.deepEqual(await p1.lock(), {lobby_id: lobby, locked: true});
    const info = await p2.info(lobby);
    assert.equal(info.lobby_host_id, p1.me.id);
    assert.equal(info.current_peers, 1);
  });

  it('claimHost(): with peersMayClaim the first claim of a hostless lobby wins', T, async () => {
    const {h, lobby} = await hosted({reclaim: true, peersMayClaim: true});
    const p1 = await client('cl');
    const p2 = await client('cl');
    await joined(h, p1, lobby);
    await joined(h, p2, lobby);
    const g1 = nextEvent(p1, 'host_gone');
    const g2 = nextEvent(p2, 'host_gone');
    h.close();
    assert.equal(await g1, h.me.id);
    assert.equal(await g2, h.me.id);
    assert.equal(p2.lobby, lobby);
    assert.equal(p2.hostId, null);
    // hostless: LOBBY_INFO leaves out the host, joins are refused while the claim is pending
    const hostless = await p1.info(lobby);
    assert.equal(hostless.lobby_id, lobby);
    assert.equal(hostless.lobby_host_id, undefined);
    assert.equal(hostless.current_peers, 2);
    const late = await client('cl');
    await rejectsWith(omega, late.join(lobby), 'LOBBY_LOCKED');
    const r2 = nextEvent(p2, 'host_reclaim');
    const r1 = nextEvent(p1, 'host_reclaim');
    const expected = {id: p2.me.id, user: p2.me.user, lobby_id: lobby};
    assert.deepEqual(await p2.claimHost(), expected);
    assert.deepEqual(await r2, expected);
    assert.deepEqual(await r1, expected);
    assert.equal(p2.role, 'host');
    assert.equal(p2.hostId, p2.me.id);
    assert.equal(p1.role, 'peer');
    assert.equal(p1.hostId, p2.me.id);
    // a later claim: the lobby has a host
    await rejectsWith(omega, p1.claimHost(), 'WARNING');
    assert.equal(p1.role, 'peer');
  });
});
