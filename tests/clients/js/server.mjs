// Test harness of the JavaScript client's suite: real omega-server processes,
// games made with omega-admin, accounts made through the client's own HTTP
// helpers, and bounded waits for everything.
//
// OMEGA_SERVER and OMEGA_ADMIN name the binaries (default: build/ of the repo).
// Run: cd /work/main && node --test tests/clients/js/

import {spawn, execFile} from 'node:child_process';
import {mkdtemp, rm} from 'node:fs/promises';
import {readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_BIN = process.env.OMEGA_SERVER || join(repo, 'build/omega-server');
export const ADMIN_BIN = process.env.OMEGA_ADMIN || join(repo, 'build/omega-admin');

/** The clients' command timeout and the suite's default bound on one wait. */
export const COMMAND_TIMEOUT = 15000;

const LISTENING = /omega: info: listening on 127\.0\.0\.1:(\d+)/;
const START_TIMEOUT = 20000;
const STOP_TIMEOUT = 5000;

/** Every server this process started, killed at exit whatever happens. */
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** Rejects after `ms` with an Error naming `what`, unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The next `name` event of `client` (via its own once()), bounded. */
export function nextEvent(client, name, ms = COMMAND_TIMEOUT) {
  return quiet(withTimeout(client.once(name), ms, `event '${name}'`));
}

/**
 * `p`, marked handled: a wait set up before a test failed elsewhere would
 * otherwise end as an unhandled rejection after the test. Awaiting it still
 * throws.
 */
function quiet(p) {
  p.catch(() => {});
  return p;
}

/** The first `name` event of `client` whose value passes `pred`, bounded. */
export function eventWhere(client, name, pred, ms = COMMAND_TIMEOUT) {
  let off;
  const p = new Promise((res) => {
    off = client.on(name, (v) => { if (pred(v)) res(v); });
  });
  return quiet(withTimeout(p, ms, `event '${name}' matching`).finally(() => off && off()));
}

/** Records every event of `names` on `client`, in order: [{name, value}]. */
export function recordEvents(client, names) {
  const log = [];
  const offs = names.map((name) => client.on(name, (value) => log.push({name, value})));
  log.stop = () => offs.forEach((off) => off());
  return log;
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** Resolves once `pred()` is true (polled every 20 ms), bounded. */
export async function until(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(20);
  }
}

/** Runs a program to its end (bounded); its stdout. EACCES/ETXTBSY (a relink) are retried. */
async function run(file, args, ms = 20000) {
  const end = Date.now() + 15000;
  for (;;) {
    const result = await new Promise((res) => {
      execFile(file, args, {timeout: ms}, (err, stdout, stderr) => res({err, stdout, stderr}));
    });
    const {err, stdout, stderr} = result;
    if (!err) return stdout;
    if (['EACCES', 'ETXTBSY'].includes(err.code) && Date.now() < end) {
      await sleep(500);
      continue;
    }
    throw new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`);
  }
}

/**
 * Spawns omega-server. While the binary is being relinked (a build running
 * beside the suite) spawn fails with EACCES or ETXTBSY for a moment: retried
 * for up to 15 s.
 */
async function spawnServer(args) {
  const end = Date.now() + 15000;
  for (;;) {
    const child = spawn(SERVER_BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
    const err = await new Promise((res) => {
      child.once('spawn', () => res(null));
      child.once('error', res);
    });
    if (!err) return child;
    if (!['EACCES', 'ETXTBSY'].includes(err.code) || Date.now() > end) {
      throw new Error(`cannot start ${SERVER_BIN}: ${err.message}`);
    }
    await sleep(500);
  }
}

let uniq = 0;
/** A name unique to this process and call: letters and digits, `prefix` first. */
export function uniqueName(prefix = 'u') {
  uniq += 1;
  return `${prefix}${process.pid.toString(36)}${uniq.toString(36)}`.slice(0, 20);
}

export class OmegaServer {
  /**
   * Starts a server on a fresh data folder (or `dataDir`), on port 0 (or
   * `port`), with `flags` after the suite's defaults.
   */
  static async start({flags = [], dataDir, port = 0} = {}) {
    const s = new OmegaServer();
    s.dataDir = dataDir ?? await mkdtemp(join(tmpdir(), 'omega-js-'));
    s.flags = flags;
    try {
      await s.#launch(port);
    } catch (e) {
      if (!dataDir) await rm(s.dataDir, {recursive: true, force: true});
      throw e;
    }
    return s;
  }

  async #launch(port) {
    const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', this.dataDir,
      '--password-hash', 'minimal', '--register-per-address', '0', ...this.flags];
    const child = await spawnServer(args);
    live.add(child);
    this.child = child;
    this.stderr = '';
    this.stdout = '';
    child.stdout.on('data', (d) => { this.stdout += d; });
    const exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        res({code, signal});
      });
      child.once('error', (err) => {
        live.delete(child);
        res({code: err.code, signal: null});
      });
    });
    this.exited = exited;
    const listening = new Promise((res, reject) => {
      child.on('error', reject);
      child.stderr.on('data', (d) => {
        this.stderr += d;
        const m = LISTENING.exec(this.stderr);
        if (m) res(Number(m[1]));
      });
      exited.then(({code, signal}) => reject(new Error(
        `omega-server exited (${code ?? signal}) before listening; its stderr:\n${this.stderr}`)));
    });
    try {
      this.port = await withTimeout(listening, START_TIMEOUT, 'omega-server listening line');
    } catch (e) {
      child.kill('SIGKILL');
      await withTimeout(exited, STOP_TIMEOUT, 'omega-server exit').catch(() => {});
      throw new Error(`${e.message}\nstderr so far:\n${this.stderr}`);
    }
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** Runs omega-admin on this server's data folder; returns its stdout. */
  admin(args) {
    return run(ADMIN_BIN, ['--data-dir', this.dataDir, ...args]);
  }

  /** Registers a game; returns its UGI. */
  async addGame(name = uniqueName('game'), developer = 'devs') {
    const out = (await this.admin(['game', 'add', name, '--developer', developer])).trim();
    if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(out)) throw new Error(`omega-admin printed no UGI: ${out}`);
    return out;
  }

  /**
   * SIGSTOP, resolving once the process is stopped (Linux: /proc); its
   * sockets stay open but nothing answers. resume() undoes it.
   */
  async pause() {
    this.child.kill('SIGSTOP');
    const stat = `/proc/${this.child.pid}/stat`;
    await until(() => {
      try {
        // "pid (comm) S ...": the state follows the last ')'
        const text = readFileSync(stat, 'utf8');
        return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) === 'T';
      } catch {
        return true; // no /proc: trust the signal
      }
    }, 5000, 'omega-server stopped');
    await sleep(50); // every thread, not just the main one
  }

  resume() {
    this.child.kill('SIGCONT');
  }

  /** SIGKILL, keeping the data folder (for a restart). */
  async kill() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await withTimeout(this.exited, STOP_TIMEOUT, 'omega-server exit after SIGKILL');
  }

  /** A new process on the same port and data folder (`flags` replace the old ones if given). */
  async restart({flags} = {}) {
    await this.kill();
    if (flags) this.flags = flags;
    await this.#launch(this.port);
  }

  /** SIGTERM, then SIGKILL after a bounded wait; removes the data folder. */
  async stop() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      try {
        await withTimeout(this.exited, STOP_TIMEOUT, 'omega-server exit after SIGTERM');
      } catch {
        this.child.kill('SIGKILL');
        await withTimeout(this.exited, STOP_TIMEOUT, 'omega-server exit after SIGKILL').catch(() => {});
      }
    }
    await rm(this.dataDir, {recursive: true, force: true});
  }
}

/**
 * A fresh account on `server` made with the client's own register() and
 * login(): {id, username, email, password, token}.
 */
export async function makeAccount(omega, server, prefix = 'p') {
  const username = uniqueName(prefix);
  const email = `${username}@example.test`;
  const password = 'password123';
  const reg = await omega.register(server.url, {username, email, password});
  const token = await omega.login(server.url, {email, password});
  return {id: reg.id, username: reg.username, email, password, token};
}

/** A raw HTTP POST of JSON (for headers the client's fetch cannot set): {status, body}. */
export function postJson(url, body, headers = {}) {
  return withTimeout(new Promise((res, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(url, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers},
    }, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (d) => { text += d; });
      resp.on('end', () => res({status: resp.statusCode, body: text}));
    });
    req.on('error', reject);
    req.end(data);
  }), COMMAND_TIMEOUT, `POST ${url}`);
}

/**
 * What a test file holds: its servers and clients, closed and stopped by
 * cleanup() (call it from after()).
 */
export class Fixture {
  constructor(omega, WebSocket) {
    this.omega = omega;
    this.WebSocket = WebSocket;
    this.servers = [];
    this.clients = [];
  }

  async server(opts) {
    const s = await OmegaServer.start(opts);
    this.servers.push(s);
    return s;
  }

  /** connect() options of the suite: Node's ws, no WebRTC, `extra` on top. */
  options(extra = {}) {
    return {WebSocket: this.WebSocket, webrtc: false, timeout: COMMAND_TIMEOUT, ...extra};
  }

  account(server, prefix) {
    return makeAccount(this.omega, server, prefix);
  }

  /** Connects a client of a fresh account (or `account`) to `ugi` on `server`. */
  async client(server, ugi, {prefix = 'p', account, ...extra} = {}) {
    const acc = account ?? await this.account(server, prefix);
    const c = await withTimeout(
      this.omega.connect(server.url, this.options({ugi, token: acc.token, ...extra})),
      COMMAND_TIMEOUT + 5000, 'connect');
    this.clients.push(c);
    return c;
  }

  /** Tracks a client made elsewhere so that cleanup() closes it. */
  track(c) {
    this.clients.push(c);
    return c;
  }

  async cleanup() {
    for (const c of this.clients) {
      try { c.close(); } catch { /* already closed */ }
    }
    this.clients = [];
    await Promise.all(this.servers.map((s) => s.stop()));
    this.servers = [];
  }
}

/** Asserts that `promise` rejects with an OmegaError of `code`; returns the error. */
export async function rejectsWith(omega, promise, code) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof Error, `expected an Error, got ${err}`);
  assert.ok(err instanceof omega.OmegaError, `expected an OmegaError, got ${err && err.constructor && err.constructor.name}: ${err}`);
  assert.equal(err.code, code, `expected code ${code}, got ${err.code} (${err.message})`);
  return err;
}

/**
 * A TCP proxy on 127.0.0.1 to `port`: {url, cut(), close()}. cut() drops the
 * client side of every connection open now and keeps the server side: the
 * client sees its socket die while the server still holds the connection (as
 * with a silently dead socket). It returns a release() that drops the held
 * server sides too.
 */
export async function tcpProxy(port) {
  const pairs = new Set();
  const proxy = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    const pair = {down, up, held: false};
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('data', (d) => up.write(d));
    up.on('data', (d) => { if (!down.destroyed) down.write(d); });
    down.on('close', () => { if (!pair.held) end(); });
    up.on('close', end);
    down.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise((res, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', res);
  });
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      const held = [...pairs];
      for (const pair of held) {
        pair.held = true;
        pair.down.destroy();
      }
      return () => { for (const pair of held) pair.up.destroy(); };
    },
    close() {
      proxy.close();
      for (const pair of pairs) {
        pair.down.destroy();
        pair.up.destroy();
      }
    },
  };
}
