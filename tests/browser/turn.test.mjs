// TURN through omega's credentials, in real browsers: Debian's coturn (REST scheme,
// use-auth-secret) and a real omega-server with --turn-secret/--turn-url, both started here on
// 10.77.0.1 inside a private network namespace; two Chromium pages that may only use relay
// candidates (iceTransportPolicy 'relay') open a DataChannel through the JavaScript client, and
// the pair the browsers selected is relay-relay. A credential past its expiry gets no relay.
//
//   scripts/netns-run.sh node --test tests/browser/turn.test.mjs
//
// Environment: OMEGA_SERVER, OMEGA_ARTIFACTS, OMEGA_CHROMIUM as for demo.test.mjs;
// OMEGA_TURNSERVER (default /usr/bin/turnserver).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, withTimeout } from './harness.mjs';
import * as omega from '../../clients/js/omega-client.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_BIN = process.env.OMEGA_SERVER || join(repo, 'build/omega-server');
const TURN_BIN = process.env.OMEGA_TURNSERVER || '/usr/bin/turnserver';
const ARTIFACTS = process.env.OMEGA_ARTIFACTS || join(repo, 'build/test-artifacts');
const HOST = '10.77.0.1';
const TURN_PORT = 3478;
const TURN_URL = `turn:${HOST}:${TURN_PORT}?transport=udp`;
const SECRET = randomBytes(16).toString('hex');
const WAIT = 20000; // the bound on every single wait

let turn;    // {child, log, exited}
let server;  // {child, port, origin, ugi, stderr, exited, dataDir}
let browser;
const consoleLines = [];

/** Starts `bin` and resolves once `ready(stdout + stderr)` holds. */
async function startProcess(bin, args, ready, what) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, log: '' };
  p.exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const up = new Promise((res, reject) => {
    const check = () => {
      const got = ready(p.log);
      if (got) res(got);
    };
    child.on('error', reject);
    child.stdout.on('data', (d) => { p.log += d; check(); });
    child.stderr.on('data', (d) => { p.log += d; check(); });
    p.exited.then(({ code, signal }) => reject(new Error(`${what} exited (${code ?? signal})`)));
  });
  try {
    p.ready = await withTimeout(up, 15000, what);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${what} said:\n${p.log}`);
  }
  return p;
}

async function stop(p) {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await withTimeout(p.exited, 5000, 'exit after SIGTERM').catch(async () => {
    p.child.kill('SIGKILL');
    await withTimeout(p.exited, 5000, 'exit after SIGKILL').catch(() => {});
  });
}

before(async () => {
  const here = Object.values(networkInterfaces()).flat().some((i) => i?.address === HOST);
  assert.ok(here, `no interface holds ${HOST}: run this test inside scripts/netns-run.sh`);
  await mkdir(ARTIFACTS, { recursive: true });
  const turnDir = await mkdtemp(join(tmpdir(), 'omega-turn-'));
  const turnLog = join(turnDir, 'turnserver.log');
  // coturn buffers what it writes to a pipe: its log file tells when it is up.
  turn = await startProcess(TURN_BIN, ['-n', '--use-auth-secret', `--static-auth-secret=${SECRET}`,
    '--realm=omega.test', '--no-tls', '--no-dtls', '--no-cli', `--listening-ip=${HOST}`,
    `--relay-ip=${HOST}`, `--listening-port=${TURN_PORT}`, '--min-port=49152', '--max-port=49352',
    `--log-file=${turnLog}`, '--simple-log', `--pidfile=${join(turnDir, 'turnserver.pid')}`],
  () => true, 'turnserver');
  turn.dir = turnDir;
  turn.logFile = turnLog;
  await withTimeout((async () => {
    for (;;) {
      const text = await readFile(turnLog, 'utf8').catch(() => '');
      if (/Total General servers/.test(text)) return;
      await new Promise((res) => setTimeout(res, 100));
    }
  })(), 15000, 'turnserver up (its log)');
  const dataDir = await mkdtemp(join(tmpdir(), 'omega-turn-data-'));
  server = await startProcess(SERVER_BIN, ['--listen', `${HOST}:0`, '--data-dir', dataDir,
    '--password-hash', 'minimal', '--register-per-address', '0', '--demo',
    '--turn-secret', SECRET, '--turn-url', TURN_URL, '--turn-ttl', '600'],
  (log) => {
    const port = /omega: info: listening on 10\.77\.0\.1:(\d+)/.exec(log);
    const ugi = /signaling\?ugi=([0-9A-Z]{26})/.exec(log);
    return port && ugi ? { port: Number(port[1]), ugi: ugi[1] } : null;
  }, 'omega-server');
  server.dataDir = dataDir;
  server.origin = `http://${HOST}:${server.ready.port}`;
  server.ugi = server.ready.ugi;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await stop(server);
  await stop(turn);
  if (server?.dataDir) await rm(server.dataDir, { recursive: true, force: true });
  await writeFile(join(ARTIFACTS, 'turn-console.log'), consoleLines.join('\n') + '\n').catch(() => {});
  if (turn?.logFile) {
    const log = await readFile(turn.logFile, 'utf8').catch(() => '');
    await writeFile(join(ARTIFACTS, 'turnserver.log'), log).catch(() => {});
  }
  if (turn?.dir) await rm(turn.dir, { recursive: true, force: true });
});

let accounts = 0;

/** A fresh account's token, through omega's HTTP API. */
async function newToken() {
  accounts += 1;
  const name = `turn${accounts}${randomBytes(3).toString('hex')}`;
  const password = 'correct horse battery';
  await omega.register(server.origin, { username: name, email: `${name}@example.test`, password });
  return omega.login(server.origin, { email: `${name}@example.test`, password });
}

/** A page of the server's origin, where `/omega-client.js` imports. */
async function openPage(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => consoleLines.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[${name}] page error: ${e.message}`));
  await page.goto(`${server.origin}/`);
  return page;
}

/**
 * Connects the page's client (relay candidates only; RTCPeerConnections recorded in
 * `window.pcs`) and returns its id and iceServers.
 */
function connectIn(page, token) {
  return page.evaluate(async ({ ugi, token }) => {
    const omega = await import('/omega-client.js');
    window.pcs = [];
    class Recorded extends RTCPeerConnection {
      constructor(config) {
        super(config);
        window.pcs.push(this);
      }
    }
    window.client = await omega.connect(location.origin, {
      ugi, token, RTCPeerConnection: Recorded, rtcConfig: { iceTransportPolicy: 'relay' },
    });
    window.opened = new Promise((res) => window.client.on('channel', res));
    return { id: window.client.me.id, iceServers: window.client.iceServers };
  }, { ugi: server.ugi, token });
}

/** The candidate types of the pair the page's connected link selected. */
function selectedPair(page) {
  return page.evaluate(async () => {
    const pc = window.pcs.find((x) => x.connectionState === 'connected');
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) return null;
    return {
      local: stats.get(pair.localCandidateId)?.candidateType,
      remote: stats.get(pair.remoteCandidateId)?.candidateType,
    };
  });
}

/** The relay candidates a page gathers with `iceServers` (relay only), bounded. */
function relayCandidates(page, iceServers) {
  return page.evaluate(async (iceServers) => {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    pc.createDataChannel('probe');
    const found = [];
    const done = new Promise((res) => {
      pc.onicecandidate = (e) => {
        if (!e.candidate) res();
        else if (e.candidate.type === 'relay') found.push(e.candidate.candidate);
      };
      setTimeout(res, 10000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    pc.close();
    return found;
  }, iceServers);
}

test('two pages relay-only open a DataChannel through coturn with omega\'s credentials',
  { timeout: 120000 }, async (t) => {
    const host = await openPage('host');
    const peer = await openPage('peer');
    try {
      const h = await connectIn(host, await newToken());
      const p = await connectIn(peer, await newToken());
      for (const side of [h, p]) {
        assert.equal(side.iceServers.length, 1, JSON.stringify(side.iceServers));
        const [server0] = side.iceServers;
        assert.deepEqual(server0.urls, [TURN_URL]);
        assert.equal(server0.username.split(':')[1], side.id);
        assert.equal(server0.credential,
          createHmac('sha1', SECRET).update(server0.username).digest('base64'));
      }
      const lobby = `turn-${randomBytes(3).toString('hex')}`;
      await host.evaluate((lobby) => window.client.host({ lobby }), lobby);
      await peer.evaluate((lobby) => window.client.join(lobby), lobby);
      await withTimeout(Promise.all([host.evaluate(() => window.opened), peer.evaluate(() => window.opened)]),
        WAIT, 'the DataChannel opens on both pages');
      // Data goes through.
      const heard = peer.evaluate(() => new Promise((res) => window.client.on('message', (m) => res(m.data))));
      await host.evaluate((id) => window.client.send(id, 'through the relay'), p.id);
      assert.equal(await withTimeout(heard, WAIT, 'the message'), 'through the relay');
      for (const page of [host, peer]) {
        const pair = await selectedPair(page);
        assert.deepEqual(pair, { local: 'relay', remote: 'relay' });
      }
    } catch (err) {
      for (const l of consoleLines.slice(-20)) t.diagnostic(`console: ${l}`);
      const log = await readFile(turn.logFile, 'utf8').catch(() => '');
      t.diagnostic(`turnserver: ${log.split('\n').slice(-20).join('\n')}`);
      throw err;
    } finally {
      await host.context().close().catch(() => {});
      await peer.context().close().catch(() => {});
    }
  });

test('an expired credential gets no relay; a fresh one from omega does', { timeout: 60000 }, async () => {
  const page = await openPage('probe');
  try {
    const me = await connectIn(page, await newToken());
    const fresh = await relayCandidates(page, me.iceServers);
    assert.ok(fresh.length > 0, 'omega\'s credential allocates a relay');
    const username = `${Math.floor(Date.now() / 1000) - 60}:${me.id}`;
    const expired = [{ urls: [TURN_URL], username,
      credential: createHmac('sha1', SECRET).update(username).digest('base64') }];
    assert.deepEqual(await relayCandidates(page, expired), [], 'coturn refuses an expired credential');
  } finally {
    await page.context().close().catch(() => {});
  }
});
