// The dashboard in Firefox: Debian's firefox-esr driven over WebDriver by geckodriver (no
// browser download; playwright-core can only drive Chromium here). Signs in, opens a collection
// and reads its records, so the modules, dialogs and layout the dashboard relies on run there.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { startServer } from '../lib/server.js';

const EMAIL = 'admin@example.com';
const PASSWORD = 'AdminPass123!';
const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';
const GECKODRIVER = process.env.GECKODRIVER_BIN || 'geckodriver';

let server;
let driver;
let wd;
let session;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function call(method, route, body) {
  const res = await fetch(`${wd}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${JSON.stringify(json.value)}`);
  return json.value;
}

const s = (route) => `/session/${session}${route}`;

async function find(css) {
  const el = await call('POST', s('/element'), { using: 'css selector', value: css });
  return Object.values(el)[0];
}

/** Polls a script in the page until it returns something truthy. */
async function until(script, what, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await call('POST', s('/execute/sync'), { script, args: [] });
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  server = await startServer({ superuser: { email: EMAIL, password: PASSWORD } });
  const port = await freePort();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'motorbase-firefox-'));
  driver = spawn(GECKODRIVER, ['--port', String(port), '--host', '127.0.0.1'], { stdio: 'ignore', env: { ...process.env, TMPDIR: profile } });
  wd = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${wd}/status`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const created = await call('POST', '/session', {
    capabilities: {
      alwaysMatch: {
        browserName: 'firefox',
        'moz:firefoxOptions': {
          binary: FIREFOX,
          args: ['-headless'],
          // No updates, telemetry or other traffic: this machine has no network.
          prefs: { 'app.update.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false, 'network.captive-portal-service.enabled': false },
        },
      },
    },
  });
  session = created.sessionId;
});

after(async () => {
  if (session) await call('DELETE', `/session/${session}`).catch(() => {});
  driver?.kill();
  await server?.stop();
});

test('Firefox: sign in, open a collection, read its records', async () => {
  await call('POST', s('/url'), { url: `${server.url}/_/` });
  await until("return document.querySelector('input[type=email]') !== null", 'the sign-in form');
  const caps = await call('POST', s('/execute/sync'), {
    script: "return [typeof HTMLDialogElement, CSS.supports('selector(:has(a))'), typeof structuredClone]",
    args: [],
  });
  assert.deepEqual(caps, ['function', true, 'function'], 'the browser features the dashboard uses');

  await call('POST', s(`/element/${await find('input[type=email]')}/value`), { text: EMAIL });
  await call('POST', s(`/element/${await find('input[type=password]')}/value`), { text: PASSWORD });
  await call('POST', s(`/element/${await find('button[type=submit]')}/click`), {});
  await until("return document.body.innerText.includes('admin@example.com')", 'the signed-in shell');

  await call('POST', s('/url'), { url: `${server.url}/_/#/collections/users` });
  await until("return document.querySelector('table.records') !== null", 'the records table of users');
  const heading = await call('POST', s('/execute/sync'), { script: "return document.body.innerText.includes('users')", args: [] });
  assert.equal(heading, true);
  const png = await call('GET', s('/screenshot'));
  fs.mkdirSync(new URL('../screenshots/', import.meta.url), { recursive: true });
  fs.writeFileSync(new URL('../screenshots/20-firefox-records.png', import.meta.url), Buffer.from(png, 'base64'));
});
