// Reconnect: the server is killed (SIGKILL) and restarted on the same port and
// data folder. These tests run one after the other on one server.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as omega from '../../../clients/js/omega-client.js';
import {
  Fixture, rejectsWith, nextEvent, eventWhere, recordEvents, sleep, until, uniqueName, withTimeout, tcpProxy,
} from './server.mjs';

const T = {timeout: 45000};
const fx = new Fixture(omega, WebSocket);
let server, ugi;
/** Fast retries, enough of them to outlast a restart on a busy machine (~15 s). */
const FAST = {attempts: 40, minDelay: 100, maxDelay: 400};

before(async () => {
  server = await fx.server();
  ugi = await server.addGame(uniqueName('game'), 'reconnect-devs');
});
after(() => fx.cleanup());

const names = (log) => log.map((e) => e.name);

describe('reconnect', {concurrency: false}, () => {
  it('disconnected → reconnecting → reconnected; me works again; session_lost for a lobby member', T, async () => {
    const h = await fx.client(server, ugi, {prefix: 'rh', reconnect: FAST});
    const l = await fx.client(server, ugi, {prefix: 'rl', reconnect: FAST});
    const w = await fx.client(server, ugi, {prefix: 'rw', reconnect: FAST});
    const me = {...h.me};
    const lobby = uniqueName('lob');
    await h.host({lobby, password: 'the-password'});
    const events = ['disconnected', 'reconnecting', 'reconnected', 'session_lost', 'closed'];
    const hlog = recordEvents(h, events);
    const llog = recordEvents(l, events);

    // a command waiting for its reply when the socket goes (PASSWORD_FAIL takes 0.5 s)
    const pending = w.join(lobby, {password: 'wrong'}).then(() => null, (e) => e);
    await sleep(50);
    // a command issued from the 'reconnected' handler goes through
    let fromHandler;
    const offBack = h.on('reconnected', () => { fromHandler = h.ping('from the handler'); });
    const hBack = nextEvent(h, 'reconnected', 30000);
    const lBack = nextEvent(l, 'reconnected', 30000);
    const lost = nextEvent(h, 'session_lost', 30000);
    await server.kill();
    const err = await withTimeout(pending, 10000, 'the pending join settles');
    assert.ok(err instanceof omega.OmegaError, `the pending command rejected: ${err}`);
    assert.equal(err.code, 'DISCONNECTED');
    await until(() => hlog.some((e) => e.name === 'disconnected'), 10000, "'disconnected' on the host");
    assert.equal(h.connected, false);
    // not connected: a command is refused at once
    await rejectsWith(omega, h.ping('while down'), 'CLOSED');

    await server.restart();
    const back = await hBack;
    assert.equal(back.lobby, lobby);
    const sl = await lost;
    assert.equal(sl.lobby, lobby);
    assert.equal(sl.role, 'host');
    const lback = await lBack;
    assert.equal(lback.lobby ?? null, null);

    const dis = hlog.find((e) => e.name === 'disconnected').value;
    assert.equal(typeof dis.code, 'number');
    const seq = names(hlog);
    const iDis = seq.indexOf('disconnected');
    const iRec = seq.indexOf('reconnecting');
    const iBack = seq.indexOf('reconnected');
    assert.ok(iDis >= 0 && iRec > iDis && iBack > iRec, `order: ${seq.join(', ')}`);
    assert.ok(!seq.includes('closed'), `no 'closed': ${seq.join(', ')}`);
    const r = hlog.find((e) => e.name === 'reconnecting').value;
    assert.equal(typeof r.attempt, 'number');
    assert.equal(typeof r.delay, 'number');
    assert.ok(!names(llog).includes('session_lost'), 'a lobby-less client loses no session');
    assert.ok(!names(llog).includes('closed'));

    offBack();
    assert.ok(fromHandler, "the 'reconnected' handler ran");
    assert.equal(await fromHandler, 'from the handler');
    assert.equal(h.connected, true);
    assert.deepEqual(h.me, me);
    assert.equal(h.lobby, null);
    assert.equal(h.role, null);
    assert.equal(h.hostId, null);
    assert.equal(h.peers.size, 0);
    assert.equal(await h.ping('again'), 'again');
    assert.equal(await l.ping('again'), 'again');
    // the lobby died with the old process: the host can make it again, and the other can join
    await h.host({lobby});
    assert.equal(h.role, 'host');
    const ack = await l.join(lobby);
    assert.equal(ack.id, h.me.id);
    hlog.stop();
    llog.stop();
  });

  it("a reconnect whose INIT fails (TOKEN_EXPIRED) ends in 'closed' naming the error", T, async () => {
    const acc = await fx.account(server, 'rx');
    const issued = Date.now();
    const token = (await server.admin(['token', 'issue', acc.username, '--lifetime', '3'])).trim();
    const c = fx.track(await omega.connect(server.url, fx.options({ugi, token, reconnect: FAST})));
    assert.equal(c.me.id, acc.id);
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const closed = nextEvent(c, 'closed', 40000);
    await server.kill();
    const wait = issued + 3600 - Date.now();
    if (wait > 0) await sleep(wait); // let the token expire while the server is down
    await server.restart();
    const ev = await closed;
    assert.match(String(ev.reason), /TOKEN_EXPIRED/);
    assert.ok(!names(log).includes('reconnected'), `events: ${names(log).join(', ')}`);
    assert.equal(c.connected, false);
    await sleep(500);
    assert.equal(names(log).filter((n) => n === 'closed').length, 1);
    const attempts = names(log).filter((n) => n === 'reconnecting').length;
    await sleep(600); // several retry delays: no retry after 'closed'
    assert.equal(names(log).filter((n) => n === 'reconnecting').length, attempts);
    log.stop();
    await rejectsWith(omega, c.ping(), 'CLOSED');
  });

  it('keepalive: a server that stops answering counts as a lost socket; the client gets back', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'rk', keepalive: 300, reconnect: FAST});
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const lost = nextEvent(c, 'disconnected', 10000);
    const back = nextEvent(c, 'reconnected', 30000);
    server.child.kill('SIGSTOP');
    try {
      await lost; // 2 unanswered intervals
    } finally {
      server.child.kill('SIGCONT');
    }
    // the server may still hold the old session for a moment: SESSION_EXISTS is retried
    await back;
    assert.equal(c.connected, true);
    assert.equal(await c.ping('back'), 'back');
    assert.ok(!names(log).includes('closed'), `events: ${names(log).join(', ')}`);
    log.stop();
  });

  it('a SESSION_EXISTS on a reconnect is retried until the other session ends', T, async () => {
    const acc = await fx.account(server, 'rse');
    // equal delays: the attempts come every 1.5 s, leaving time for the other session
    const a = await fx.client(server, ugi, {account: acc,
      reconnect: {attempts: 20, minDelay: 1500, maxDelay: 1500}});
    const log = recordEvents(a, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const refused = eventWhere(a, 'frame', (f) => f.dir === 'in' && f.frame.opcode === 'SESSION_EXISTS', 30000);
    const back = nextEvent(a, 'reconnected', 40000);
    await server.kill();
    await server.restart();
    const token2 = await omega.login(server.url, {email: acc.email, password: acc.password});
    const b = fx.track(await omega.connect(server.url, fx.options({ugi, token: token2, reconnect: false})));
    await refused;
    assert.equal(a.connected, false);
    b.close();
    await back;
    assert.equal(a.connected, true);
    assert.equal(await a.ping('mine again'), 'mine again');
    assert.ok(!names(log).includes('closed'), `events: ${names(log).join(', ')}`);
    log.stop();
  });

  it('SESSION_EXISTS while the server holds the dead socket uses up no attempt', T, async () => {
    // The client's socket dies but the server's end stays open (a proxy holds it), as with a
    // socket that died silently: every INIT is SESSION_EXISTS until the server lets go.
    const proxy = await tcpProxy(server.port);
    try {
      const acc = await fx.account(server, 'rsh');
      const attempts = 2;
      const c = fx.track(await omega.connect(proxy.url, fx.options({
        ugi, token: acc.token, keepalive: 0, reconnect: {attempts, minDelay: 50, maxDelay: 100},
        resume: false, // with resume, the RESUME takes the held session over at once
      })));
      const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
      let refusals = 0;
      const offFrame = c.on('frame', ({dir, frame}) => {
        if (dir === 'in' && frame.opcode === 'SESSION_EXISTS') refusals += 1;
      });
      const back = nextEvent(c, 'reconnected', 20000);
      const release = proxy.cut();
      await until(() => refusals >= attempts + 3 || names(log).includes('closed'), 15000,
        'SESSION_EXISTS answers past the attempts');
      assert.ok(!names(log).includes('closed'), `events: ${names(log).join(', ')}`);
      assert.equal(c.connected, false);
      release(); // the server sees the old socket go and frees the session
      await back;
      assert.equal(c.connected, true);
      assert.equal(await c.ping('held no more'), 'held no more');
      const tries = log.filter((e) => e.name === 'reconnecting').map((e) => e.value);
      assert.ok(tries.length > attempts, `${tries.length} reconnecting events`);
      assert.deepEqual(tries.map((t) => t.attempt), tries.map((_, i) => i + 1), 'attempt counts every try');
      // after a SESSION_EXISTS the next try waits about maxDelay (±25 %, at most maxDelay)
      for (const t of tries.slice(1)) assert.ok(t.delay >= 75 && t.delay <= 100, `delay ${t.delay}`);
      assert.ok(!names(log).includes('closed'), `events: ${names(log).join(', ')}`);
      offFrame();
      log.stop();
    } finally {
      proxy.close();
    }
  });

  it('keepalive: a command without a timeout (timeout 0) does not keep a dead socket alive', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'rk0', keepalive: 300, timeout: 0, reconnect: false});
    const closed = nextEvent(c, 'closed', 10000);
    await server.pause();
    try {
      // a CONFIG_PEER the stopped server never answers, waiting forever
      const join = c.join(uniqueName('lob')).then(() => null, (e) => e);
      const ev = await closed;
      assert.match(String(ev.reason), /keepalive/);
      const err = await withTimeout(join, 5000, 'the join settles');
      assert.equal(err?.code, 'DISCONNECTED');
    } finally {
      server.resume();
    }
  });

  it('close() while reconnecting stops for good', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'rcl', reconnect: FAST});
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const retrying = nextEvent(c, 'reconnecting', 10000);
    await server.kill();
    await retrying;
    const closed = nextEvent(c, 'closed', 5000);
    c.close();
    await closed;
    const n = names(log).filter((x) => x === 'reconnecting').length;
    await server.restart();
    await sleep(800); // a few FAST delays: no attempt may follow
    assert.equal(names(log).filter((x) => x === 'reconnecting').length, n);
    assert.ok(!names(log).includes('reconnected'), `events: ${names(log).join(', ')}`);
    assert.equal(c.connected, false);
    await rejectsWith(omega, c.ping(), 'CLOSED');
    log.stop();
  });

  it("reconnect: false: a lost socket is 'closed' at once", T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'rf', reconnect: false});
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const closed = nextEvent(c, 'closed');
    await server.kill();
    await closed;
    await sleep(300);
    assert.ok(!names(log).includes('reconnecting'), `events: ${names(log).join(', ')}`);
    assert.equal(c.connected, false);
    log.stop();
    await server.restart();
  });

  it("the attempts spent: 'closed' after that many 'reconnecting'", T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'rs', reconnect: {attempts: 3, minDelay: 50, maxDelay: 100}});
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const closed = nextEvent(c, 'closed', 20000);
    await server.kill(); // and no restart
    await closed;
    const seq = names(log);
    const n = seq.filter((x) => x === 'reconnecting').length;
    assert.ok(n >= 1 && n <= 3, `${n} reconnecting events: ${seq.join(', ')}`);
    assert.ok(!seq.includes('reconnected'));
    assert.equal(seq[seq.length - 1], 'closed');
    log.stop();
  });
});
