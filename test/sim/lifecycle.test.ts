import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { diagnose } from '../../orchestrator/health/diagnose.ts';
import { freePort } from '../../orchestrator/net.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, send, waitForInFlight } from './fixtures.ts';

const LOAD_LINES = [
  'Starting check and download process',
  'Successfully downloaded weights',
  'Starting shard',
  'Waiting for shard to be ready...',
  'Shard ready in',
  'Starting Webserver',
  'Warming up model',
  'Setting max batch total tokens to',
  'Connected',
];

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function connectError(url: string): Promise<string | undefined> {
  return send(`${url}/health`).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
}

describe('start-up', () => {
  test('nothing listens while loading; the TGI log lines come in order, ending with Connected', async () => {
    const sim = await startSim({
      modelId: 'org/loading-model',
      waitReady: false,
      env: { SIM_LOAD_SECONDS: '1', CUDA_VISIBLE_DEVICES: '0,1', NVIDIA_VISIBLE_DEVICES: '2,3' },
    });
    try {
      await waitFor(() => sim.output().includes('Waiting for shard to be ready...'), 'the shard to load');
      assert.equal(await connectError(sim.url), 'ECONNREFUSED');
      assert.ok(!sim.output().includes('Connected'));
      await waitFor(() => sim.output().includes('Connected'), 'Connected');
      assert.equal((await send(`${sim.url}/health`)).status, 200);

      const out = sim.output();
      const positions = LOAD_LINES.map((line) => out.indexOf(line));
      assert.ok(positions.every((p) => p >= 0), `missing lines in:\n${out}`);
      assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'lines in TGI order');
      assert.match(out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  INFO download: text_generation_launcher: Starting check and download process for org\/loading-model$/m);
      assert.match(out, /Simulator: model_id=org\/loading-model NUM_SHARD=2 NVIDIA_VISIBLE_DEVICES=2,3 CUDA_VISIBLE_DEVICES=0,1/);
      assert.match(out, /Starting shard rank=1/, 'without NUM_SHARD the shard count comes from CUDA_VISIBLE_DEVICES');

      const info = JSON.parse((await send(`${sim.url}/info`)).body);
      assert.deepEqual({ ...info.simulator, hostname: undefined, pid: undefined }, { nvidia_visible_devices: '2,3', cuda_visible_devices: '0,1', num_shard: 2, hostname: undefined, pid: undefined, vision: false });
    } finally {
      await sim.stop();
    }
  });

  test('launcher settings come from env (legacy MAX_INPUT_LENGTH included); a flag wins over its env var; --sim-… flags work', async () => {
    const sim = await startSim({
      env: { MAX_TOTAL_TOKENS: '300', MAX_INPUT_LENGTH: '100', MAX_CONCURRENT_REQUESTS: '7', MAX_BEST_OF: '3', NUM_SHARD: '4' },
      args: ['--max-best-of', '1', '--quantize', 'awq', '--trust-remote-code', '--dtype', 'bfloat16', '--cuda-memory-fraction', '0.5', '--sim-vision'],
    });
    try {
      const info = JSON.parse((await send(`${sim.url}/info`)).body);
      assert.equal(info.max_total_tokens, 300);
      assert.equal(info.max_input_tokens, 100);
      assert.equal(info.max_concurrent_requests, 7);
      assert.equal(info.max_best_of, 1);
      assert.equal(info.simulator.num_shard, 4);
      assert.equal(info.simulator.vision, true);
      assert.equal(info.model_pipeline_tag, 'image-text-to-text');
    } finally {
      await sim.stop();
    }
  });

  test('setting both MAX_INPUT_TOKENS and MAX_INPUT_LENGTH is an error, exit 1', async () => {
    const sim = await startSim({ waitReady: false, env: { MAX_INPUT_TOKENS: '10', MAX_INPUT_LENGTH: '10' } });
    assert.equal(await sim.exited, 1);
    assert.match(sim.output(), /Both `max_input_tokens` \(10\) and `max_input_length` \(10\) are set/);
  });

  test('the launcher\'s other token-limit errors, worded as launcher/src/main.rs words them, exit 1', async () => {
    const inverted = await startSim({ waitReady: false, args: ['--max-input-tokens', '600', '--max-total-tokens', '500'] });
    assert.equal(await inverted.exited, 1);
    assert.match(inverted.output(), /Error: ArgumentValidation\("`max_input_tokens`\(600\) must be < `max_total_tokens`\(500\)"\)/);
    const batch = await startSim({ waitReady: false, args: ['--max-total-tokens', '500', '--max-batch-total-tokens', '400'] });
    assert.equal(await batch.exited, 1);
    assert.match(batch.output(), /Error: ArgumentValidation\("`max_total_tokens` must be <= `max_batch_total_tokens`. Given: 500 and 400"\)/);
  });

  test('--help prints the usage and exits 0', async () => {
    const sim = await startSim({ waitReady: false, args: ['--help'] });
    assert.equal(await sim.exited, 0);
    assert.match(sim.output(), /--max-total-tokens/);
    assert.match(sim.output(), /SIM_CRASH_AFTER_REQUESTS/);
  });

  test('--prometheus-port serves the metrics on a second port; --json-output logs JSON lines', async () => {
    const prometheusPort = await freePort();
    const sim = await startSim({ args: ['--prometheus-port', String(prometheusPort), '--json-output'] });
    try {
      const res = await send(`http://127.0.0.1:${prometheusPort}/metrics`);
      assert.match(res.body, /^tgi_request_count 0$/m);
      const lines = sim.output().trim().split('\n').map((line) => JSON.parse(line));
      assert.ok(lines.some((line) => line.level === 'INFO' && line.fields.message.endsWith('Connected')));
    } finally {
      await sim.stop();
    }
  });

  test('a port already in use fails like TGI: WebserverFailed, exit 1', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const sim = await startSim({ waitReady: false, args: ['--port', String(port)] });
      assert.equal(await sim.exited, 1);
      assert.match(sim.output(), /Address already in use/);
      assert.match(sim.output(), /Error: WebserverFailed/);
      assert.match(diagnose({ logTail: sim.output().split('\n') }) ?? '', /port is already in use/);
    } finally {
      blocker.close();
    }
  });
});

describe('failure knobs', () => {
  test('SIM_CRASH_ON_LOAD prints a CUDA out-of-memory failure and exits 1 without ever listening', async () => {
    const sim = await startSim({ waitReady: false, env: { SIM_CRASH_ON_LOAD: '1', SIM_LOAD_SECONDS: '0.2' } });
    assert.equal(await sim.exited, 1);
    const out = sim.output();
    assert.match(out, /torch\.OutOfMemoryError: CUDA out of memory/);
    assert.match(out, /ERROR text_generation_launcher: Shard 0 failed to start/);
    assert.match(out, /Error: ShardCannotStart/);
    assert.ok(!out.includes('Connected'));
    assert.match(diagnose({ logTail: out.split('\n') }) ?? '', /CUDA out of memory/);
  });

  test('SIM_CRASH_AFTER_REQUESTS=2 answers two generation requests and exits 1 when the third arrives', async () => {
    const sim = await startSim({ env: { SIM_CRASH_AFTER_REQUESTS: '2' } });
    for (let i = 0; i < 2; i++) assert.equal((await postJson(`${sim.url}/generate`, { inputs: `request ${i}`, parameters: { max_new_tokens: 3 } })).status, 200);
    assert.equal((await send(`${sim.url}/health`)).status, 200, 'health checks do not count');
    await assert.rejects(postJson(`${sim.url}/generate`, { inputs: 'the third', parameters: { max_new_tokens: 3 } }));
    assert.equal(await sim.exited, 1);
    assert.match(sim.output(), /Shard 0 crashed/);
  });

  test('SIGINT (Ctrl-C) while loading exits 0', async () => {
    const sim = await startSim({ waitReady: false, env: { SIM_LOAD_SECONDS: '30' } });
    await waitFor(() => sim.output().includes('Starting check and download process'), 'loading to start');
    assert.equal(await sim.stop('SIGINT'), 0);
  });
});

describe('graceful stop', () => {
  async function firstChunk(sim: SimProcess, body: unknown) {
    const res = await fetch(`${sim.url}/generate_stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const reader = res.body!.getReader();
    const first = await reader.read();
    return { reader, text: new TextDecoder().decode(first.value) };
  }

  test('SIGTERM stops accepting, lets an in-flight stream finish, and exits 0', async () => {
    const sim = await startSim({ env: { SIM_TOKENS_PER_SECOND: '25' } });
    const { reader, text } = await firstChunk(sim, { inputs: 'Drain me', parameters: { max_new_tokens: 10 } });
    sim.child.kill('SIGTERM');
    await waitFor(() => sim.output().includes('Terminating webserver'), 'the stop to begin');
    assert.equal(await connectError(sim.url), 'ECONNREFUSED', 'no new connections while draining');
    let body = text;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) body += new TextDecoder().decode(chunk.value);
    const events = body.split('\n\n').filter(Boolean);
    assert.equal(events.length, 10, 'the stream was not cut');
    assert.notEqual(JSON.parse(events[9].slice('data: '.length)).generated_text, null);
    assert.equal(await sim.exited, 0);
    assert.match(sim.output(), /webserver terminated/);
  });

  test('a request that never finishes is given up after --graceful-termination-timeout, still exit 0', async () => {
    const sim = await startSim({ env: { SIM_HANG: '1' }, args: ['--graceful-termination-timeout', '0.3'] });
    const hung = postJson(`${sim.url}/generate`, { inputs: 'never', parameters: { max_new_tokens: 3 } }).catch((error: Error) => error);
    await waitForInFlight(sim.url, 1);
    assert.equal(await sim.stop('SIGTERM'), 0);
    assert.ok((await hung) instanceof Error, 'the hung request ends with the process');
    assert.match(sim.output(), /did not finish its 1 request\(s\) within 0.3s/);
  });
});
