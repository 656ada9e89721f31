// connect(): INIT_OK and every INIT error, an unknown UGI, a socket that cannot
// open, close(), and the frame log.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import WebSocket from 'ws';
import * as omega from '../../../clients/js/omega-client.js';
import {
  Fixture, rejectsWith, nextEvent, eventWhere, recordEvents, postJson, sleep, until, uniqueName, withTimeout,
} from './server.mjs';

const T = {timeout: 30000};
const fx = new Fixture(omega, WebSocket);
let server, ugi, gameName;

before(async () => {
  server = await fx.server();
  gameName = uniqueName('game');
  ugi = await server.addGame(gameName, 'connect-devs');
});
after(() => fx.cleanup());

/** A WebSocket class whose upgrade requests carry `origin`. */
function withOrigin(origin) {
  return class extends WebSocket {
    constructor(url) { super(url, {origin}); }
  };
}

describe('connect', () => {
  it('resolves after INIT_OK with me = {id, user, game, developer}', T, async () => {
    const acc = await fx.account(server, 'conn');
    const c = await fx.client(server, ugi, {account: acc});
    assert.deepEqual(
      {id: c.me.id, user: c.me.user, game: c.me.game, developer: c.me.developer},
      {id: acc.id, user: acc.username, game: gameName, developer: 'connect-devs'});
    assert.equal(c.connected, true);
    assert.equal(c.lobby, null);
    assert.equal(c.role, null);
    assert.equal(c.hostId, null);
    assert.ok(c.peers instanceof Map);
    assert.equal(c.peers.size, 0);
    assert.ok(c.channels instanceof Map);
  });

  it('rejects TOKEN_INVALID for an unknown token', T, async () => {
    await rejectsWith(omega, omega.connect(server.url, fx.options({ugi, token: 'no-such-token-' + 'x'.repeat(30)})),
      'TOKEN_INVALID');
  });

  it('rejects SESSION_EXISTS for a second connection of the same account', T, async () => {
    const acc = await fx.account(server, 'sess');
    await fx.client(server, ugi, {account: acc});
    await rejectsWith(omega, omega.connect(server.url, fx.options({ugi, token: acc.token})), 'SESSION_EXISTS');
    // another token of the same account does not help
    const other = await omega.login(server.url, {email: acc.email, password: acc.password});
    await rejectsWith(omega, omega.connect(server.url, fx.options({ugi, token: other})), 'SESSION_EXISTS');
  });

  it('rejects VIOLATION for an unknown UGI', T, async () => {
    const acc = await fx.account(server, 'ugi');
    await rejectsWith(omega,
      omega.connect(server.url, fx.options({ugi: '01ARZ3NDEKTSV4RRFFQ69G5FAV', token: acc.token})), 'VIOLATION');
  });

  it('rejects DISCONNECTED when the socket cannot open', T, async () => {
    // port 1 on loopback: nothing listens there
    await rejectsWith(omega, omega.connect('http://127.0.0.1:1', fx.options({ugi, token: 'whatever'})),
      'DISCONNECTED');
  });

  it('TOKEN_ORIGIN_MISMATCH for a token bound to another origin (or to one, from none)', T, async () => {
    const acc = await fx.account(server, 'origin');
    const res = await postJson(`${server.url}/api/v0/login`, {email: acc.email, password: acc.password},
      {Origin: 'http://game.example'});
    assert.equal(res.status, 200, res.body);
    const bound = res.body.trim();
    // no Origin header at all (ws sends none by default)
    await rejectsWith(omega, omega.connect(server.url, fx.options({ugi, token: bound})), 'TOKEN_ORIGIN_MISMATCH');
    await rejectsWith(omega, omega.connect(server.url, fx.options({
      ugi, token: bound, WebSocket: withOrigin('http://other.example')})), 'TOKEN_ORIGIN_MISMATCH');
    const c = fx.track(await omega.connect(server.url, fx.options({
      ugi, token: bound, WebSocket: withOrigin('http://game.example')})));
    assert.equal(c.me.id, acc.id);
  });

  it('rejects TOKEN_EXPIRED once the token lifetime has passed', T, async () => {
    const short = await fx.server({flags: ['--token-lifetime', '1']});
    const shortUgi = await short.addGame();
    const acc = await fx.account(short, 'exp');
    await sleep(1600); // the only way to age a token
    await rejectsWith(omega, omega.connect(short.url, fx.options({ugi: shortUgi, token: acc.token})),
      'TOKEN_EXPIRED');
    // a fresh token works
    const fresh = await omega.login(short.url, {email: acc.email, password: acc.password});
    const c = fx.track(await omega.connect(short.url, fx.options({ugi: shortUgi, token: fresh})));
    assert.equal(c.me.id, acc.id);
    c.close();
  });
});

describe('close()', () => {
  it("emits 'closed', does not reconnect, and later commands reject CLOSED", T, async () => {
    const acc = await fx.account(server, 'close');
    const c = await fx.client(server, ugi, {account: acc,
      reconnect: {attempts: 5, minDelay: 50, maxDelay: 100}});
    const log = recordEvents(c, ['disconnected', 'reconnecting', 'reconnected', 'closed']);
    const closed = nextEvent(c, 'closed');
    c.close();
    const ev = await closed;
    assert.equal(typeof ev, 'object');
    assert.equal(c.connected, false);
    await rejectsWith(omega, c.ping('after close'), 'CLOSED');
    await rejectsWith(omega, c.lobbies(), 'CLOSED');
    await sleep(400); // longer than several reconnect delays: none may start
    assert.deepEqual(log.map((e) => e.name).filter((n) => n !== 'disconnected'), ['closed']);
    log.stop();
    // the server lets the account in again (it may take a moment to see the close)
    let again;
    for (let i = 0; i < 50 && !again; i++) {
      try {
        again = fx.track(await omega.connect(server.url, fx.options({ugi, token: acc.token})));
      } catch (e) {
        if (!(e instanceof omega.OmegaError) || e.code !== 'SESSION_EXISTS') throw e;
        await sleep(100);
      }
    }
    assert.ok(again, 'the account can connect again after close()');
    assert.equal(await again.ping(1), 1);
  });

  it('rejects commands still waiting for a reply with DISCONNECTED or CLOSED', T, async () => {
    const host = await fx.client(server, ugi, {prefix: 'wh'});
    const lobby = uniqueName('lob');
    await host.host({lobby, password: 'right-password'});
    const c = await fx.client(server, ugi, {prefix: 'wp'});
    const pending = c.join(lobby, {password: 'wrong-password'}); // answered after 0.5 s
    await sleep(50);
    c.close();
    let err;
    await withTimeout(pending.catch((e) => { err = e; }), 5000, 'the pending join settles');
    assert.ok(err instanceof omega.OmegaError, `rejected with an OmegaError: ${err}`);
    assert.ok(['CLOSED', 'DISCONNECTED'].includes(err.code), `code ${err.code}`);
  });

  it('on a dead connection (the server stopped) Node can exit within seconds, not 30 s', T, async () => {
    // A child process connects, then on SIGUSR2 calls close(); only the socket keeps it alive
    // (no keepalive, no reconnect). `ws` alone would wait 30 s for the stopped server's close frame.
    const acc = await fx.account(server, 'cdead');
    const script = `
      import WebSocket from 'ws';
      const omega = await import(process.env.OMEGA_CLIENT);
      const c = await omega.connect(process.env.OMEGA_URL, {ugi: process.env.OMEGA_UGI,
        token: process.env.OMEGA_TOKEN, WebSocket, webrtc: false, keepalive: 0, reconnect: false});
      process.once('SIGUSR2', () => {
        c.on('closed', () => process.stdout.write('closed\\n'));
        c.close();
      });
      process.stdout.write('connected\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dirname(fileURLToPath(import.meta.url)),  // where 'ws' resolves
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, OMEGA_CLIENT: new URL('../../../clients/js/omega-client.js', import.meta.url).href,
        OMEGA_URL: server.url, OMEGA_UGI: ugi, OMEGA_TOKEN: acc.token},
    });
    let out = '';
    let errText = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { errText += d; });
    const exited = new Promise((res) => child.once('exit', (code, signal) => res({code, signal})));
    try {
      await until(() => out.includes('connected') || child.exitCode !== null, 10000, `the child connects (${errText})`);
      assert.ok(out.includes('connected'), `the child connected: ${out} ${errText}`);
      await server.pause();
      const start = Date.now();
      child.kill('SIGUSR2');
      const end = await withTimeout(exited, 8000, 'the child exits after close()');
      const took = Date.now() - start;
      assert.equal(end.code, 0, `exit ${end.code ?? end.signal}: ${errText}`);
      assert.ok(out.includes('closed'), `'closed' was emitted: ${out}`);
      assert.ok(took < 5000, `exited ${took} ms after close()`);
    } finally {
      server.resume();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it("a 'frame' listener that calls close() stops the frame's handling", T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'fcl'});
    c.on('frame', ({dir, frame}) => {
      if (dir === 'in' && frame.opcode === 'ACK_HOST') c.close();
    });
    await rejectsWith(omega, c.host({lobby: uniqueName('lob')}), 'CLOSED');
    assert.equal(c.lobby, null, 'the ACK_HOST was not applied to the closed client');
    assert.equal(c.role, null);
    assert.equal(c.hostId, null);
  });
});

describe("'frame' event", () => {
  it('logs every frame sent and parsed, with listeners matching', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'frame'});
    const frames = recordEvents(c, ['frame']);
    assert.deepEqual(await c.ping({hello: 'frames'}), {hello: 'frames'});
    frames.stop();
    const out = frames.find((f) => f.value.dir === 'out' && f.value.frame.opcode === 'KEEPALIVE');
    assert.ok(out, 'an outgoing KEEPALIVE frame');
    assert.equal(typeof out.value.frame.listener, 'string');
    const back = frames.find((f) => f.value.dir === 'in' && f.value.frame.listener === out.value.frame.listener);
    assert.ok(back, 'the reply frame carries the same listener');
    assert.equal(back.value.frame.opcode, 'KEEPALIVE');
    assert.deepEqual(back.value.frame.payload, out.value.frame.payload);
  });
});

describe('events API', () => {
  it('on() returns an unsubscribe function, off() removes, once() resolves the next value', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'ev'});
    let a = 0;
    let b = 0;
    const fa = () => { a += 1; };
    const fb = () => { b += 1; };
    const unsubscribe = c.on('frame', fa);
    assert.equal(typeof unsubscribe, 'function');
    c.on('frame', fb);
    await c.ping(1);
    assert.ok(a >= 2 && b >= 2, `both saw the frames (${a}, ${b})`);
    unsubscribe();
    c.off('frame', fb);
    const [a0, b0] = [a, b];
    const next = c.once('frame');
    await c.ping(2);
    const f = await withTimeout(next, 5000, 'once(frame)');
    assert.equal(f.dir, 'out');
    assert.equal(f.frame.opcode, 'KEEPALIVE');
    assert.equal(a, a0);
    assert.equal(b, b0);
  });
});

describe('options', () => {
  it('timeout: a reply later than options.timeout rejects TIMEOUT; the client goes on', T, async () => {
    const host = await fx.client(server, ugi, {prefix: 'th'});
    const lobby = uniqueName('lob');
    await host.host({lobby, password: 'right-password'});
    const c = await fx.client(server, ugi, {prefix: 'tp', timeout: 150});
    // a wrong password is answered after 0.5 s
    await rejectsWith(omega, c.join(lobby, {password: 'wrong-password'}), 'TIMEOUT');
    await sleep(600); // let the late PASSWORD_FAIL arrive: it must match nothing
    assert.equal(c.connected, true);
    assert.equal(c.lobby, null);
    assert.ok(Array.isArray(await c.lobbies()));
    assert.equal(await c.ping('after'), 'after');
  });

  it('keepalive: KEEPALIVE frames go out every interval without any command', T, async () => {
    const c = await fx.client(server, ugi, {prefix: 'ka', keepalive: 250});
    const out = eventWhere(c, 'frame', (f) => f.dir === 'out' && f.frame.opcode === 'KEEPALIVE', 5000);
    const back = eventWhere(c, 'frame', (f) => f.dir === 'in' && f.frame.opcode === 'KEEPALIVE', 5000);
    await out;
    await back;
    assert.equal(c.connected, true);
    assert.equal(await c.ping('ka'), 'ka');
  });

  it('without WebRTC: no channels, send() throws CLOSED, broadcast() reaches 0', T, async () => {
    const host = await fx.client(server, ugi, {prefix: 'dh'});
    const lobby = uniqueName('lob');
    await host.host({lobby});
    const c = await fx.client(server, ugi, {prefix: 'dp'});
    await c.join(lobby);
    assert.equal(c.channels.size, 0);
    assert.throws(() => c.send(host.me.id, 'hello'), (e) => e instanceof omega.OmegaError && e.code === 'CLOSED');
    assert.equal(c.broadcast('hello'), 0);
  });
});
