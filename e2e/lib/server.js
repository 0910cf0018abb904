// Starts the real `motorbase serve` (the debug build CI makes) on a free port with a fresh data
// folder, and reads the address and the install link from what it prints.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BINARY = process.env.MOTORBASE_BIN || path.resolve(here, '../../target/debug/motorbase');

export async function startServer({ superuser } = {}) {
  if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`cargo build\` first`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'motorbase-e2e-'));
  const dir = path.join(root, 'mb_data');
  if (superuser) {
    execFileSync(BINARY, ['superuser', 'upsert', superuser.email, superuser.password, '--dir', dir], { stdio: 'pipe' });
  }
  const child = spawn(BINARY, ['serve', '--http', '127.0.0.1:0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${out}\n${err}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const url = /Server started at (http:\/\/\S+)/.exec(out)?.[1];
      // Without a superuser the install link follows the banner; wait for it too.
      const install = /(http:\/\/\S+\/_\/#\/install\/\S+)/.exec(out)?.[1];
      if (url && (superuser || install)) {
        clearTimeout(timer);
        resolve({ url: url.replace(/\/$/, ''), installLink: install || null });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${out}\n${err}`));
    });
  });
  const info = await ready;
  return {
    ...info,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
