// Session resume and TURN credentials: the client resumes by itself after a
// network blip (a proxy cuts its socket; the server does not notice), keeps
// its lobby and role, and uses the server's TURN credentials.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {createHmac} from 'node:crypto';
import WebSocket from 'ws';
import * as omega from '../../../clients/js/omega-client.js';
import {Fixture, nextEvent, recordEvents, uniqueName, tcpProxy} from './server.mjs';

const T = {timeout: 45000};
const fx = new Fixture(omega, WebSocket);
const FAST = {attempts: 20, minDelay: 50, maxDelay: 200};
let server, ugi;

before(async () => {
  server = await fx.server({flags: ['--turn-secret', 'js-north', '--turn-url', 'turn:127.0.0.1:3478',
    '--turn-ttl', '600']});
  ugi = await server.addGame(uniqueName('game'), 'resume-devs');
});
after(() => fx.cleanup());

const names = (log) => log.map((e) => e.name);

describe('session resume', {concurrency: false}, () => {
  it('a peer behind a dropped socket comes back with the same id, lobby and role', T, async () => {
    const proxy = await tcpProxy(server.port);
    try {
      const h = await fx.client(server, ugi, {prefix: 'h'});
      const acc = await fx.account(server, 'p');
      const p = fx.track(await omega.connect(proxy.url, fx.options({ugi, token: acc.token, reconnect: FAST})));
      assert.equal(p.resumable, true);
      const lobby = uniqueName('lob');
      await h.host({lobby});
      await p.join(lobby);
      const hlog = recordEvents(h, ['peer_gone', 'host_gone']);
      const plog = recordEvents(p, ['disconnected', 'reconnected', 'resumed', 'session_lost', 'closed']);
      const resumed = nextEvent(p, 'resumed', 20000);
      const release = proxy.cut(); // the client's socket dies; the server's end stays open
      const r = await resumed;
      assert.deepEqual(r, {lobby, role: 'peer', dropped: 0});
      assert.equal(p.lobby, lobby);
      assert.equal(p.role, 'peer');
      assert.equal(p.me.id, acc.id);
      assert.equal(p.resumable, true);
      const seq = names(plog);
      assert.ok(!seq.includes('session_lost') && !seq.includes('closed'), `events: ${seq.join(', ')}`);
      assert.equal(plog.find((e) => e.name === 'reconnected').value.resumed, true);
      // Relays flow both ways again; the host never heard of the blip.
      const got = nextEvent(p, 'relay');
      await h.relay('MAKE_OFFER', acc.id, {sdp: 'after'});
      assert.deepEqual((await got).payload, {sdp: 'after'});
      const back = nextEvent(h, 'relay');
      await p.relay('MAKE_ANSWER', h.me.id, {sdp: 'answer'});
      assert.deepEqual((await back).payload, {sdp: 'answer'});
      release(); // the old server-side socket goes now: it is no longer the session's
      assert.equal(await h.ping('sync'), 'sync');
      assert.equal(await p.ping('sync'), 'sync');
      assert.deepEqual(names(hlog), [], 'the host saw no departure');
      hlog.stop();
      plog.stop();
    } finally {
      proxy.close();
    }
  });

  it('without resume on the server a reconnect loses the lobby, and says why', T, async () => {
    const off = await fx.server({flags: ['--resume-window', '0']});
    const offUgi = await off.addGame(uniqueName('game'), 'devs');
    const proxy = await tcpProxy(off.port);
    try {
      const h = await fx.client(off, offUgi, {prefix: 'h'});
      const acc = await fx.account(off, 'p');
      const p = fx.track(await omega.connect(proxy.url, fx.options({
        ugi: offUgi, token: acc.token, reconnect: FAST, keepalive: 0,
      })));
      assert.equal(p.resumable, false);
      const lobby = uniqueName('lob');
      await h.host({lobby});
      await p.join(lobby);
      const lost = nextEvent(p, 'session_lost', 20000);
      const release = proxy.cut();
      release(); // the server sees the socket close: PEER_GONE, and the session is free
      const sl = await lost;
      assert.equal(sl.lobby, lobby);
      assert.equal(p.lobby, null);
    } finally {
      proxy.close();
    }
  });
});

describe('TURN credentials', () => {
  it('the server\'s TURN servers join the iceServers, with REST credentials', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 't', iceServers: [{urls: 'stun:127.0.0.1:3478'}]});
    const servers = c.iceServers;
    assert.equal(servers.length, 2);
    assert.deepEqual(servers[0], {urls: 'stun:127.0.0.1:3478'});
    const turn = servers[1];
    assert.deepEqual(turn.urls, ['turn:127.0.0.1:3478']);
    const [expiry, account] = turn.username.split(':');
    assert.equal(account, c.me.id);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Number(expiry) > now + 590 && Number(expiry) <= now + 610, `expiry ${expiry}`);
    assert.equal(turn.credential, createHmac('sha1', 'js-north').update(turn.username).digest('base64'));
  });

  it('turn: false leaves the iceServers alone', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'u', turn: false});
    assert.deepEqual(c.iceServers, []);
  });
});
