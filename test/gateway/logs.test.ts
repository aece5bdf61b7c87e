import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT } from '../helpers/sim.ts';
import { http } from './fixture.ts';

const MAIN = fileURLToPath(new URL('./gateway-main.ts', import.meta.url));

test('the bearer token never appears in what the gateway logs', async (t) => {
  const closedPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'trace', LOG_FORMAT: 'json', GATEWAY_UPSTREAM_PORT: String(closedPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [, port, token] = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${output}`)), 20_000);
    child.stdout.on('data', () => {
      const match = /LISTENING (\d+) (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
  const url = `http://127.0.0.1:${port}`;

  assert.equal((await http(`${url}/hermes/gpu0/generate`, { token, body: { inputs: 'hi' } })).status, 502);
  assert.equal((await http(`${url}/v1/chat/completions`, { token, body: '{not json' })).status, 400);
  assert.equal((await http(`${url}/info`, { token: `${token}x` })).status, 401);
  assert.equal((await http(`${url}/info`, { token: `${token}y` })).status, 401);
  assert.equal((await http(`${url}/info`, { token })).status, 403, 'locked out');
  child.kill('SIGTERM');
  await exited;

  const logged = output.split('\n').filter((line) => line.trim() && !line.startsWith('LISTENING '));
  t.diagnostic(`${logged.length} lines logged`);
  assert.ok(logged.some((line) => /hermes\/gpu0 .*failed: ECONNREFUSED/.test(line)), 'the upstream failure is logged');
  assert.ok(logged.some((line) => /locked out/.test(line)), 'the lockout is logged');
  for (const line of logged) assert.ok(!line.includes(token), `the token is in the log: ${line}`);
});
