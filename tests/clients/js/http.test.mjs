// The client's HTTP helpers (register, login) and signalingUrl, against a real omega-server.

import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as omega from '../../../clients/js/omega-client.js';
import {Fixture, uniqueName, rejectsWith} from './server.mjs';

const T = {timeout: 30000};
const fx = new Fixture(omega, WebSocket);
let server;

before(async () => {
  server = await fx.server();
});
after(() => fx.cleanup());

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('register', () => {
  it('201 gives {id, username}', T, async () => {
    const username = uniqueName('reg');
    const res = await omega.register(server.url, {
      username, email: `${username}@example.test`, password: 'password123'});
    assert.equal(res.username, username);
    assert.match(res.id, ULID);
  });

  it('takes a trailing slash and a ws:// server URL', T, async () => {
    const a = uniqueName('slash');
    const ra = await omega.register(server.url + '/', {
      username: a, email: `${a}@example.test`, password: 'password123'});
    assert.equal(ra.username, a);
    const b = uniqueName('wsurl');
    const rb = await omega.register(`ws://127.0.0.1:${server.port}`, {
      username: b, email: `${b}@example.test`, password: 'password123'});
    assert.equal(rb.username, b);
    assert.notEqual(ra.id, rb.id);
  });

  it('400 on invalid fields: HTTP_400 with the server\'s error text', T, async () => {
    const name = uniqueName('bad');
    const cases = [
      {username: 'ab', email: `${name}1@example.test`, password: 'password123'},        // too short
      {username: 'a'.repeat(21), email: `${name}2@example.test`, password: 'password123'},
      {username: 'bad name!', email: `${name}3@example.test`, password: 'password123'},
      {username: name, email: `${name}4@example.test`, password: 'short'},               // < 8
      {username: name, email: 'not-an-email', password: 'password123'},
    ];
    for (const c of cases) {
      const err = await rejectsWith(omega, omega.register(server.url, c), 'HTTP_400');
      assert.equal(typeof err.message, 'string');
      assert.ok(err.message.length > 0, `an error text for ${JSON.stringify(c)}`);
    }
  });

  it('409 when the username or the email is taken', T, async () => {
    const username = uniqueName('taken');
    const email = `${username}@example.test`;
    await omega.register(server.url, {username, email, password: 'password123'});
    await rejectsWith(omega, omega.register(server.url, {
      username, email: `other.${email}`, password: 'password123'}), 'HTTP_409');
    // usernames compare case-insensitively
    await rejectsWith(omega, omega.register(server.url, {
      username: username.toUpperCase(), email: `other2.${email}`, password: 'password123'}), 'HTTP_409');
    await rejectsWith(omega, omega.register(server.url, {
      username: uniqueName('taken'), email, password: 'password123'}), 'HTTP_409');
  });
});

describe('login', () => {
  it('gives a token; each login a fresh one', T, async () => {
    const acc = await fx.account(server, 'login');
    assert.equal(typeof acc.token, 'string');
    assert.ok(acc.token.length >= 16);
    const again = await omega.login(server.url, {email: acc.email, password: acc.password});
    assert.equal(typeof again, 'string');
    assert.notEqual(again, acc.token);
  });

  it('401 on a wrong password or an unknown email', T, async () => {
    const acc = await fx.account(server, 'login');
    await rejectsWith(omega, omega.login(server.url, {email: acc.email, password: 'wrongpassword'}), 'HTTP_401');
    await rejectsWith(omega, omega.login(server.url, {
      email: `${uniqueName('nobody')}@example.test`, password: 'password123'}), 'HTTP_401');
  });
});

describe('signalingUrl', () => {
  const ugi = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
  it('maps http to ws and https to wss', () => {
    assert.equal(omega.signalingUrl('http://127.0.0.1:8080', ugi),
      `ws://127.0.0.1:8080/api/v0/signaling?ugi=${ugi}`);
    assert.equal(omega.signalingUrl('http://127.0.0.1:8080/', ugi),
      `ws://127.0.0.1:8080/api/v0/signaling?ugi=${ugi}`);
    assert.equal(omega.signalingUrl('https://omega.example.org', ugi),
      `wss://omega.example.org/api/v0/signaling?ugi=${ugi}`);
  });
  it('keeps a ws(s) URL that has a path and sets only ?ugi=', () => {
    assert.equal(omega.signalingUrl('wss://omega.example.org/api/signaling', ugi),
      `wss://omega.example.org/api/signaling?ugi=${ugi}`);
    assert.equal(omega.signalingUrl('ws://127.0.0.1:9/api/v0/signaling?ugi=OLD', ugi),
      `ws://127.0.0.1:9/api/v0/signaling?ugi=${ugi}`);
  });
});
