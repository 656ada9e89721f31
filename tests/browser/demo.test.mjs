// The demo page (clients/demo) in a real browser: Debian's Chromium driven by playwright-core,
// against a real omega-server started here with --demo.
//
// Run inside a private network namespace (Chromium gathers no WebRTC candidates on 127.0.0.1, so
// the server and the pages use 10.77.0.1 of a veth pair there):
//   scripts/netns-run.sh node --test tests/browser/demo.test.mjs
//
// Environment:
//   OMEGA_SERVER     the server binary (default build/omega-server of the repo)
//   OMEGA_ARTIFACTS  where screenshots and the pages' console go (default build/test-artifacts)
//   OMEGA_CHROMIUM   the browser (default /usr/bin/chromium; never downloaded)
//   OMEGA_DEMO_BASE  serve the pages from this origin instead of the server's own (the pages then
//                    get ?server= and ?ugi=): for working on the demo without rebuilding the server,
//                    whose copy of the pages is built into the binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, withTimeout } from './harness.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_BIN = process.env.OMEGA_SERVER || join(repo, 'build/omega-server');
const ARTIFACTS = process.env.OMEGA_ARTIFACTS || join(repo, 'build/test-artifacts');
const HOST = '10.77.0.1';
const WAIT = 20000;  // the bound on every single wait

let server;     // {child, port, origin, ugi, stdout, stderr, exited, dataDir}
let browser;
let served;     // whether this binary serves the demo pages itself
const consoleLines = [];
const pageErrors = [];

// -- the server ------------------------------------------------------------------------------------

async function startServer() {
  const dataDir = await mkdtemp(join(tmpdir(), 'omega-demo-'));
  const child = spawn(SERVER_BIN, ['--listen', `${HOST}:0`, '--data-dir', dataDir,
    '--password-hash', 'minimal', '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { child, dataDir, stdout: '', stderr: '' };
  s.exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const ready = new Promise((res, reject) => {
    const check = () => {
      const port = /omega: info: listening on 10\.77\.0\.1:(\d+)/.exec(s.stderr);
      // The demo game's UGI: the first signaling URL printed (the standard game; the CL5 one follows).
      const ugi = /signaling\?ugi=([0-9A-Z]{26})/.exec(s.stdout);
      if (port && ugi) res({ port: Number(port[1]), ugi: ugi[1] });
    };
    child.on('error', reject);
    child.stdout.on('data', (d) => { s.stdout += d; check(); });
    child.stderr.on('data', (d) => { s.stderr += d; check(); });
    s.exited.then(({ code, signal }) => reject(new Error(`omega-server exited (${code ?? signal})`)));
  });
  try {
    Object.assign(s, await withTimeout(ready, 15000, 'omega-server listening line and demo UGI'));
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\nstdout:\n${s.stdout}\nstderr:\n${s.stderr}`);
  }
  s.origin = `http://${HOST}:${s.port}`;
  return s;
}

/** GET of a path on the server, bounded. */
function get(path) {
  return fetch(`${server.origin}${path}`, { signal: AbortSignal.timeout(WAIT) });
}

async function stopServer(s) {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    s.child.kill('SIGTERM');
    try {
      await withTimeout(s.exited, 5000, 'omega-server exit after SIGTERM');
    } catch {
      s.child.kill('SIGKILL');
      await withTimeout(s.exited, 5000, 'omega-server exit after SIGKILL').catch(() => {});
    }
  }
  await rm(s.dataDir, { recursive: true, force: true });
}

before(async () => {
  const here = Object.values(networkInterfaces()).flat().some((i) => i?.address === HOST);
  assert.ok(here, `no interface holds ${HOST}: run this test inside scripts/netns-run.sh`);
  await mkdir(ARTIFACTS, { recursive: true });
  server = await startServer();
  served = (await get('/demo.js')).status === 200;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server) await stopServer(server);
  await writeFile(join(ARTIFACTS, 'demo-console.log'), consoleLines.join('\n') + '\n').catch(() => {});
});

// -- the pages -------------------------------------------------------------------------------------

/** The demo page's URL: the server's own page, or OMEGA_DEMO_BASE's pointed at the server. */
function pageUrl() {
  const base = process.env.OMEGA_DEMO_BASE;
  if (!base) return `${server.origin}/`;
  const q = new URLSearchParams({ server: server.origin, ugi: server.ugi });
  return `${base.replace(/\/+$/, '')}/?${q}`;
}

/** A page in a context of its own: its own sessionStorage, so its own account. */
async function openPage(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => consoleLines.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => pageErrors.push(`[${name}] ${e.message}`));
  await page.goto(pageUrl());
  page.label = name;
  return page;
}

/** "Play as guest", then the account's {id, user} once the page is connected. */
async function playAsGuest(page) {
  await page.click('#guest');
  await page.waitForSelector('#status[data-state="connected"]');
  const id = await page.getAttribute('#me', 'data-id');
  const user = await page.getAttribute('#me', 'data-user');
  assert.match(id, /^[0-9A-Z]{26}$/);
  assert.match(user, /^guest-[0-9a-f]{6}$/);
  return { id, user };
}

/** Waits until `page` shows an open DataChannel to member `id`. */
function channelOpen(page, id) {
  return page.waitForSelector(`#members [data-id="${id}"][data-channel="open"]`);
}

async function say(page, text) {
  await page.fill('#chat-input', text);
  await page.click('#chat-send');
}

function heard(page, text) {
  return page.locator('#chat-log [data-testid="chat-line"]', { hasText: text }).first()
    .waitFor({ timeout: WAIT });
}

function frameSeen(page, dir, opcode) {
  return page.waitForSelector(`#frame-log li[data-dir="${dir}"][data-opcode="${opcode}"]`,
    { state: 'attached' });
}

function cspViolations() {
  return consoleLines.filter((l) => /Content Security Policy/i.test(l));
}

/**
 * Runs `body(pages)`, where `body` adds each page it opens to `pages`. On a failure the pages'
 * errors and last console lines go next to it (all of them are in demo-console.log), with a
 * screenshot of every page; the pages' contexts are always closed.
 */
async function withPages(t, body) {
  const pages = [];
  try {
    await body(pages);
  } catch (err) {
    for (const e of pageErrors) t.diagnostic(`page error: ${e}`);
    for (const l of consoleLines.slice(-15)) t.diagnostic(`console: ${l}`);
    for (const p of pages) {
      await p.screenshot({ path: join(ARTIFACTS, `demo-failed-${p.label}.png`), fullPage: true })
        .catch(() => {});
    }
    throw err;
  } finally {
    for (const p of pages) await p.context().close().catch(() => {});
  }
}

// -- the tests -------------------------------------------------------------------------------------

// The files' bytes, types and caching headers: tests/e2e/web_pages_test.cpp.

test('two guests meet in a lobby and chat over a DataChannel; a third joins; departures show',
  { timeout: 180000 }, async (t) => {
    assert.ok(served || process.env.OMEGA_DEMO_BASE,
      `${SERVER_BIN} answers 404 for /demo.js: it does not serve the demo pages (--web-pages false?)`);
    await withPages(t, async (pages) => {
      const a = await openPage('A');
      const b = await openPage('B');
      pages.push(a, b);
      const [userA, userB] = await Promise.all([playAsGuest(a), playAsGuest(b)]);
      assert.notEqual(userA.id, userB.id, 'two tabs are two accounts');

      // A hosts; B, lobby-less, hears of it from NEW_HOST (a live update of its list) and joins.
      await a.fill('#lobby-name', 'demo-lobby');
      await a.click('#create');
      await a.waitForSelector('#my-role[data-role="host"]');
      await b.click('#lobby-list [data-lobby="demo-lobby"] [data-action="join"]');
      await b.waitForSelector('#my-role[data-role="peer"]');
      await Promise.all([channelOpen(a, userB.id), channelOpen(b, userA.id)]);

      await say(a, 'hello from A');
      await heard(b, 'hello from A');
      await say(b, 'hello from B');
      await heard(a, 'hello from B');
      // B knows the whole lobby: the host sends the member list over the channel.
      await b.waitForSelector(`#members [data-id="${userA.id}"][data-role="host"]`);
      await b.waitForSelector(`#members [data-id="${userB.id}"][data-role="peer"]`);
      await a.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });

      // C joins later: its list comes from LOBBY_LIST on connect.
      const c = await openPage('C');
      pages.push(c);
      const userC = await playAsGuest(c);
      await c.click('#lobby-list [data-lobby="demo-lobby"] [data-action="join"]');
      await Promise.all([channelOpen(a, userC.id), channelOpen(c, userA.id)]);
      await c.waitForSelector(`#members [data-id="${userB.id}"]`);   // from the host's list
      await b.waitForSelector(`#members [data-id="${userC.id}"]`);
      // The star: C's chat goes to the host, which passes it on to B.
      await say(c, 'hello from C');
      await Promise.all([heard(a, 'hello from C'), heard(b, 'hello from C')]);

      // B leaves (its tab closes): the host gets PEER_GONE and drops B from its list.
      await b.context().close();
      pages.splice(pages.indexOf(b), 1);
      await frameSeen(a, 'in', 'PEER_GONE');
      await a.waitForSelector(`#members [data-id="${userB.id}"]`, { state: 'detached' });
      await c.waitForSelector(`#members [data-id="${userB.id}"]`, { state: 'detached' });

      // The host leaves a lobby made without reclaim: C gets HOST_GONE, then LOBBY_CLOSE, and is
      // back in the lobby list.
      await a.context().close();
      pages.splice(pages.indexOf(a), 1);
      await frameSeen(c, 'in', 'HOST_GONE');
      await frameSeen(c, 'in', 'LOBBY_CLOSE');
      await c.waitForSelector('#lobby-panel', { state: 'hidden' });
      await c.waitForSelector('#lobbies-panel', { state: 'visible' });
      const opcodes = await c.$$eval('#frame-log li[data-dir="in"]', (els) => els.map((e) => e.dataset.opcode));
      assert.ok(opcodes.lastIndexOf('HOST_GONE') < opcodes.lastIndexOf('LOBBY_CLOSE'),
        `HOST_GONE before LOBBY_CLOSE: ${opcodes.join(' ')}`);

      // A reload keeps the tab's account (the token is in sessionStorage).
      await c.reload();
      await c.waitForSelector('#status[data-state="connected"]');
      assert.equal(await c.getAttribute('#me', 'data-id'), userC.id);

      assert.deepEqual(pageErrors, [], 'uncaught errors in the pages');
      assert.deepEqual(cspViolations(), [], 'Content-Security-Policy violations');
    });
  });

// A host change: every member closes its links, the non-host members say hello to the new host
// over ICE ({"omega":"hello"}), and the new host offers to each (clients/js/README.md, WebRTC).
test('after a host change the links are made again: a transfer, then the host leaves a reclaim lobby',
  { timeout: 120000 }, async (t) => {
    assert.ok(served || process.env.OMEGA_DEMO_BASE,
      `${SERVER_BIN} answers 404 for /demo.js: it does not serve the demo pages (--web-pages false?)`);
    // The member row of `id` on `page` in role `role` with an open DataChannel (the role in the
    // selector keeps a row from before the change, still open, from matching).
    const linked = (page, id, role) =>
      page.waitForSelector(`#members [data-id="${id}"][data-role="${role}"][data-channel="open"]`);
    // The hello `page` sent to the new host `to` (the frame log names the recipient).
    const hello = (page, to) => page.locator('#frame-log li[data-dir="out"][data-opcode="ICE"]')
      .filter({ hasText: '"omega":"hello"' }).filter({ hasText: `to ${to.user}` })
      .first().waitFor({ state: 'attached', timeout: WAIT });
    const noError = async (page) => {
      if (await page.isVisible('#error')) {
        assert.fail(`[${page.label}] the page shows an error: ${await page.textContent('#error-text')}`);
      }
    };
    await withPages(t, async (pages) => {
      const a = await openPage('reclaim-A');
      const b = await openPage('reclaim-B');
      const c = await openPage('reclaim-C');
      pages.push(a, b, c);
      const [userA, userB, userC] = await Promise.all([playAsGuest(a), playAsGuest(b), playAsGuest(c)]);

      // A hosts with "when I leave, a peer becomes host" (no claims by peers: the server picks).
      await a.fill('#lobby-name', 'reclaim-lobby');
      await a.check('#reclaim');
      await a.click('#create');
      await a.waitForSelector('#my-role[data-role="host"]');
      await b.click('#lobby-list [data-lobby="reclaim-lobby"] [data-action="join"]');
      await b.waitForSelector('#my-role[data-role="peer"]');
      await c.click('#lobby-list [data-lobby="reclaim-lobby"] [data-action="join"]');
      await c.waitForSelector('#my-role[data-role="peer"]');
      await Promise.all([
        linked(a, userB.id, 'peer'), linked(a, userC.id, 'peer'),
        linked(b, userA.id, 'host'), linked(c, userA.id, 'host'),
      ]);

      // 1. A hands the host role to B ("Make host"). Everyone gets HOST_RECLAIM; A and C say hello
      //    to B, which offers to both.
      await a.locator(`#members [data-id="${userB.id}"] [data-action="transfer"]`).click();
      await Promise.all([
        b.waitForSelector('#my-role[data-role="host"]'),
        a.waitForSelector('#my-role[data-role="peer"]'),
        frameSeen(a, 'in', 'HOST_RECLAIM'), frameSeen(b, 'in', 'HOST_RECLAIM'),
        frameSeen(c, 'in', 'HOST_RECLAIM'),
      ]);
      assert.equal(await c.getAttribute('#my-role', 'data-role'), 'peer');
      await Promise.all([hello(a, userB), hello(c, userB)]);
      await Promise.all([
        linked(b, userA.id, 'peer'), linked(b, userC.id, 'peer'),
        linked(a, userB.id, 'host'), linked(c, userB.id, 'host'),
      ]);
      // The new host's member list reaches the peers: A sees C, C sees A, both as peers via B.
      await a.waitForSelector(`#members [data-id="${userC.id}"][data-role="peer"][data-link="relayed"]`);
      await c.waitForSelector(`#members [data-id="${userA.id}"][data-role="peer"][data-link="relayed"]`);
      // Chat goes through the new host both ways.
      await say(c, 'after the transfer: C here');
      await Promise.all([heard(a, 'after the transfer: C here'), heard(b, 'after the transfer: C here')]);
      await say(a, 'after the transfer: A here');
      await Promise.all([heard(c, 'after the transfer: A here'), heard(b, 'after the transfer: A here')]);
      await say(b, 'after the transfer: B here');
      await Promise.all([heard(a, 'after the transfer: B here'), heard(c, 'after the transfer: B here')]);
      for (const p of pages) await noError(p);

      // 2. B, the host now, closes its page. The lobby allows reclaim, so it lives on: HOST_GONE,
      //    then the server promotes the earliest-joined peer. The transfer put A, the old host, last
      //    in join order, so C (joined before A became a peer) is the new host.
      await b.context().close();
      pages.splice(pages.indexOf(b), 1);
      await Promise.all([frameSeen(a, 'in', 'HOST_GONE'), frameSeen(c, 'in', 'HOST_GONE')]);
      await Promise.all([
        c.waitForSelector('#my-role[data-role="host"]'),
        heard(c, 'You are the host now.'),
        heard(a, `${userC.user} is the host now.`),
      ]);
      assert.equal(await a.getAttribute('#my-role', 'data-role'), 'peer');
      await hello(a, userC);
      for (const p of [a, c]) {
        const opcodes = await p.$$eval('#frame-log li[data-dir="in"]', (els) => els.map((e) => e.dataset.opcode));
        assert.ok(opcodes.lastIndexOf('HOST_GONE') < opcodes.lastIndexOf('HOST_RECLAIM'),
          `[${p.label}] HOST_GONE before the second HOST_RECLAIM: ${opcodes.join(' ')}`);
        assert.ok(!opcodes.includes('LOBBY_CLOSE'), `[${p.label}] the lobby lives on: ${opcodes.join(' ')}`);
      }
      await Promise.all([linked(c, userA.id, 'peer'), linked(a, userC.id, 'host')]);
      await a.waitForSelector(`#members [data-id="${userB.id}"]`, { state: 'detached' });
      await c.waitForSelector(`#members [data-id="${userB.id}"]`, { state: 'detached' });
      await say(a, 'after the reclaim: A here');
      await heard(c, 'after the reclaim: A here');
      await say(c, 'after the reclaim: C here');
      await heard(a, 'after the reclaim: C here');
      for (const p of pages) await noError(p);
      await c.screenshot({ path: join(ARTIFACTS, 'demo-reclaim.png'), fullPage: true });

      assert.deepEqual(pageErrors, [], 'uncaught errors in the pages');
      assert.deepEqual(cspViolations(), [], 'Content-Security-Policy violations');
    });
  });
