// Ctrl-C on `npm run demo` in a real terminal (tmux). The terminal signals the whole foreground
// process group and npm forwards the signal once more, yet one press drains the stream in flight
// and exits 0; the simulators, in process groups of their own, hear only the orchestrator's SIGTERM.
// A second press a second later cuts the drain short: exit 130, and no simulator is left running.
// Without a terminal: a repeated SIGTERM within a second (a supervisor's, or npm's relay) is ignored.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMap, isSeq, parseDocument } from 'yaml';
import { freePort } from '../../orchestrator/net.ts';
import { unsetNpmVariables } from '../helpers/npm-env.ts';
import { ROOT } from '../helpers/sim.ts';
import { Terminal, tmuxInstalled } from '../helpers/terminal.ts';
import { runUp, uniqueFleet } from '../helpers/up.ts';

const skip = !tmuxInstalled() && !process.env.CI ? 'tmux is not installed (bash .ci/run installs it)' : false;

const TOKEN = `signals-test-${Date.now()}`;
/** Slow enough that 20 tokens take ~3 s: the stream is still running when Ctrl-C comes. */
const TOKENS_PER_SECOND = 6;

interface Demo {
  terminal: Terminal;
  url: string;
  stateDir: string;
  /** pids of the simulators, as each one reports it in its /info. */
  serverPids: number[];
  /** `npm run demo`'s exit code, as the shell saw it. */
  exitCode(timeoutMs?: number): Promise<number>;
}

let dir: string;
let demo: Demo | undefined;

/** models.demo.yaml with slow streaming and short loading. */
async function demoConfig(): Promise<string> {
  const doc = parseDocument(await readFile(join(ROOT, 'models.demo.yaml'), 'utf8'));
  doc.setIn(['defaults', 'simulator', 'tokens_per_second'], TOKENS_PER_SECOND);
  doc.setIn(['defaults', 'simulator', 'load_seconds'], 0.5);
  // Its TGI simulators only: their logs name the signal that stopped them (uvicorn's, for vLLM, do not).
  const models = doc.get('models');
  if (isSeq(models)) models.items = models.items.filter((m) => !isMap(m) || (m.get('engine') ?? 'tgi') === 'tgi');
  const file = join(dir, 'models.demo.yaml');
  await writeFile(file, doc.toString());
  return file;
}

/** Types `npm run demo` into a fresh terminal and waits until every deployment is ready. */
async function startDemo(): Promise<Demo> {
  const config = await demoConfig();
  const port = await freePort();
  const stateDir = join(dir, 'state');
  const exitFile = join(dir, 'exit-code');
  const terminal = await Terminal.open(dir, { ...process.env, ...unsetNpmVariables(), VALID_TOKEN: TOKEN, LOG_LEVEL: 'debug', FLEET_LOCK_DIR: join(dir, 'locks') });
  await terminal.type(`cd '${ROOT}' && npm run demo -- --port ${port} --state-dir '${stateDir}' --config '${config}' --fleet ${uniqueFleet()}; echo $? > '${exitFile}'`);
  const exitCode = async (timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    let promptSince: number | undefined;
    while (Date.now() < deadline) {
      const written = await readFile(exitFile, 'utf8').catch(() => '');
      if (written.trim()) return Number(written);
      promptSince = (await terminal.atPrompt()) ? promptSince ?? Date.now() : undefined;
      // bash drops the rest of a command line whose command was killed by SIGINT.
      if (promptSince && Date.now() - promptSince > 1000) throw new Error(`npm run demo was killed by SIGINT (the shell skipped the echo of its exit code); terminal:\n${await terminal.output()}`);
      await sleep(100);
    }
    throw new Error(`npm run demo did not exit within ${timeoutMs} ms; terminal:\n${await terminal.output()}`);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200) break;
    if (Date.now() > deadline || (await readFile(exitFile, 'utf8').catch(() => ''))) throw new Error(`the demo did not become healthy; terminal:\n${await terminal.output()}`);
    await sleep(200);
  }
  const get = async (path: string) => (await fetch(url + path, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  const routes = ((await get('/info')).deployments as Array<{ route: string }>).map((d) => d.route);
  const serverPids = await Promise.all(routes.map(async (route) => (await get(`${route}/info`)).simulator.pid as number));
  return { terminal, url, stateDir, serverPids, exitCode };
}

interface Stream {
  /** Resolves with every data: event received, and the error if the stream was cut. */
  done: Promise<{ events: Array<{ generated_text: string | null; details: { finish_reason: string } | null }>; error?: Error }>;
}

/** Starts a streaming generation and resolves once its first token has arrived (it is in flight). */
async function startStream(url: string, maxNewTokens: number): Promise<Stream> {
  const res = await fetch(`${url}/hermes-2-pro-tgi/gpu0/generate_stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: 'Tell me a long story', parameters: { max_new_tokens: maxNewTokens, details: true } }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });
  const done = (async () => {
    let error: Error | undefined;
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    } catch (e) {
      error = e as Error;
    }
    const events = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
    return { events, error };
  })();
  return { done };
}

/** Alive and not a zombie (a killed orphan may wait for a reaper that never comes). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntilGone(pids: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning) && Date.now() < deadline) await sleep(100);
  return pids.filter(isRunning);
}

async function serverLogs(stateDir: string): Promise<Array<{ name: string; text: string }>> {
  const logDir = join(stateDir, 'logs');
  const names = await readdir(logDir);
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(logDir, name), 'utf8') })));
}

describe('Ctrl-C in a terminal on npm run demo', { skip }, () => {
  afterEach(async () => {
    if (demo) {
      // A failed test may leave the demo running: nothing must outlive the test.
      const gateway = JSON.parse(await readFile(join(demo.stateDir, 'gateway.json'), 'utf8').catch(() => '{}'));
      for (const pid of [gateway.pid, ...demo.serverPids].filter((pid): pid is number => Number.isInteger(pid) && isRunning(pid))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await demo.terminal.close();
      demo = undefined;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('one Ctrl-C drains the stream in flight and exits 0; the simulators get only SIGTERM', { timeout: 120_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-signals-'));
    demo = await startDemo();
    const stream = await startStream(demo.url, 20);
    await demo.terminal.pressCtrlC();

    const { events, error } = await stream.done;
    assert.equal(error, undefined, 'the stream was not cut');
    assert.equal(events.length, 20);
    const last = events.at(-1)!;
    assert.equal(typeof last.generated_text, 'string');
    assert.equal(last.details?.finish_reason, 'length');

    assert.equal(await demo.exitCode(), 0);
    const output = await demo.terminal.output();
    assert.match(output, /SIGINT: no new requests; draining in-flight requests/);
    assert.match(output, /INFO: stopped/);
    assert.doesNotMatch(output, /again \d|exiting without waiting/);

    const logs = await serverLogs(demo.stateDir);
    assert.equal(logs.length, 3);
    for (const { name, text } of logs) {
      assert.doesNotMatch(text, /Received SIGINT/, `${name}: the terminal's Ctrl-C reached a simulator`);
      assert.match(text, /Received SIGTERM; shutting down/, `${name}: stopped by the orchestrator`);
    }
    assert.deepEqual(await waitUntilGone(demo.serverPids), []);
  });

  test('a second Ctrl-C a second later cuts the drain: exit 130, nothing left running', { timeout: 120_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-signals-'));
    demo = await startDemo();
    const stream = await startStream(demo.url, 1000);
    await demo.terminal.pressCtrlC();
    await sleep(1500);
    await demo.terminal.pressCtrlC();

    const { events, error } = await stream.done;
    assert.ok(error || events.length < 1000, 'the stream was cut');
    assert.ok(events.every((e) => e.generated_text === null), 'no final event');

    assert.equal(await demo.exitCode(), 130);
    const output = await demo.terminal.output();
    assert.match(output, /SIGINT: no new requests; draining in-flight requests/);
    assert.match(output, /SIGINT again \d+\.\ds after the first: exiting without waiting; cut 1 in-flight request\(s\) \(hermes-2-pro-tgi\/gpu0: 1\) and killed 3 local server\(s\)/);
    assert.deepEqual(await waitUntilGone(demo.serverPids), [], 'every simulator was killed');
    for (const { name, text } of await serverLogs(demo.stateDir)) assert.doesNotMatch(text, /Received SIGINT/, `${name}: the terminal's Ctrl-C reached a simulator`);
  });
});

describe('signals sent to the orchestrator directly', () => {
  test('a second SIGTERM within a second is the same request: the stream completes, exit 0', { timeout: 60_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-signals-'));
    const service = await runUp({ config: await demoConfig(), token: TOKEN, env: { LOG_LEVEL: 'debug' } });
    try {
      await service.waitHealthy();
      const stream = await startStream(service.url, 12);
      service.child.kill('SIGTERM');
      await sleep(100);
      service.child.kill('SIGTERM');
      const { events, error } = await stream.done;
      assert.equal(error, undefined, 'the stream was not cut');
      assert.equal(events.length, 12);
      assert.equal(typeof events.at(-1)!.generated_text, 'string');
      assert.equal(await service.exited, 0);
      assert.match(service.output(), /SIGTERM \d+ ms after the first: .*ignored/);
      assert.doesNotMatch(service.output(), /exiting without waiting/);
    } finally {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
