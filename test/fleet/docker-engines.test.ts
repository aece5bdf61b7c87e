// One model per engine on Docker, end to end: `up` with the simulator image standing in for TGI, vLLM
// and SGLang (it speaks each, told by SIM_ENGINE), GPU-pinned by DeviceRequests like the real images.
// The service API document's curl examples run as written with the document's models on vLLM, then —
// after a models.yaml edit that moves them — on SGLang; the official openai SDK per deployment and at
// the root, streaming through each engine; and the engine label in metrics and service discovery.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import OpenAI from 'openai';
import { dockerSkipReason, removeFleetContainers } from '../docker/engine.ts';
import { assertNonStreamingAnswer, assertStreamingAnswer, assertVisionAnswer, curlExamples, exampleWorkDir, runExample } from '../helpers/seed-examples.ts';
import { ROOT } from '../helpers/sim.ts';
import { runCli, runUp, uniqueFleet, type RunningUp } from '../helpers/up.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const docker = new Dockerode();
const skip = await dockerSkipReason(docker);
const FLEET = uniqueFleet();
const env = { PATH: `${join(ROOT, 'test/fixtures/bin')}:${process.env.PATH}` };
const TEXT = 'hermes-2-pro-tgi';
const VISION = 'llava-v1.6-mistral-7b-tgi';
const PLAIN = 'plain-tgi';

type Engine = 'tgi' | 'vllm' | 'sglang';

/** The document's two models on `engines`, and a TGI model beside them. */
function modelsYaml(engines: { text: Engine; vision: Engine }): string {
  return `
defaults:
  image: tgi-sim:local
  pull: never
  shm_size: 256m
  env:
    SIM_LOAD_SECONDS: "1"
    SIM_TOKENS_PER_SECOND: "50"
models:
  - name: ${TEXT}
    model_id: NousResearch/Hermes-2-Pro-Llama-3-8B
    engine: ${engines.text}
    image: tgi-sim:local     # defaults.image is the defaults' engine's (TGI's); each other engine names its own
    gpus: [0]
    cuda_memory_fraction: 0.45  # GPU 0 is shared with the vision model (the document's routes)
    max_total_tokens: 4096
  - name: ${VISION}
    model_id: llava-hf/llava-v1.6-mistral-7b-hf
    engine: ${engines.vision}
    image: tgi-sim:local
    vision: true
    gpus: [0]
    cuda_memory_fraction: 0.45
    max_total_tokens: 4096
  - name: ${PLAIN}
    model_id: sim/plain
    gpus: [2]
`;
}

describe('one model per engine on Docker', { skip }, () => {
  let dir: string;
  let config: string;
  let stateDir: string;
  let workDir: string;
  let service: RunningUp;
  let examples: string[];

  before(async () => {
    await run('bash', [join(ROOT, 'scripts/build-sim-image.sh')], { cwd: ROOT });
    dir = await mkdtemp(join(tmpdir(), 'fleet-engines-'));
    config = join(dir, 'models.yaml');
    stateDir = join(dir, 'state');
    workDir = await exampleWorkDir();
    examples = await curlExamples();
    await writeFile(config, modelsYaml({ text: 'vllm', vision: 'sglang' }));
    service = await runUp({ config, env, stateDir, fleet: FLEET });
    await service.waitHealthy(120_000);
  });

  after(async () => {
    await service?.stop();
    await runCli(['down', '--fleet', FLEET, '--state-dir', stateDir], env);
    await removeFleetContainers(docker, FLEET);
    for (const d of [dir, workDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  const runIt = (block: string) => runExample(block, { port: service.port, token: service.token, cwd: workDir });

  async function containerOf(model: string): Promise<Dockerode.ContainerInspectInfo> {
    const [summary] = await docker.listContainers({ filters: { label: [`tgi-fleet.fleet=${FLEET}`, `tgi-fleet.deployment=${model}/gpu${model === PLAIN ? 2 : 0}`] } });
    assert.ok(summary, `a running container for ${model}`);
    return docker.getContainer(summary.Id).inspect();
  }

  test('each engine runs as its own program, pinned to its GPU, published on 127.0.0.1 only', async () => {
    const expected: Record<string, { gpu: string; engine: Engine; cmd: RegExp }> = {
      [TEXT]: { gpu: '0', engine: 'vllm', cmd: /^vllm serve NousResearch\/Hermes-2-Pro-Llama-3-8B --served-model-name hermes-2-pro-tgi / },
      [VISION]: { gpu: '0', engine: 'sglang', cmd: /^python3 -m sglang\.launch_server --model-path llava-hf\/llava-v1\.6-mistral-7b-hf --served-model-name llava-v1\.6-mistral-7b-tgi / },
      [PLAIN]: { gpu: '2', engine: 'tgi', cmd: /--model-id sim\/plain/ },
    };
    for (const [model, want] of Object.entries(expected)) {
      const inspect = await containerOf(model);
      assert.deepEqual(inspect.HostConfig.DeviceRequests?.map((r) => r.DeviceIDs), [[want.gpu]], `${model} pinned to GPU ${want.gpu}`);
      assert.match((inspect.Config.Cmd ?? []).join(' '), want.cmd, `${model}'s command line`);
      if (want.engine !== 'tgi') assert.ok(inspect.Config.Env.includes(`SIM_ENGINE=${want.engine}`), `${model} speaks ${want.engine}`);
      const bindings = Object.values(inspect.HostConfig.PortBindings ?? {}).flat() as Array<{ HostIp: string }>;
      assert.ok(bindings.length > 0 && bindings.every((b) => b.HostIp === '127.0.0.1'), `${model} published on 127.0.0.1 only`);
    }
    const status = await runCli(['status', '--fleet', FLEET, '--state-dir', stateDir], env);
    for (const engine of ['vllm', 'sglang', 'tgi']) assert.match(status.stdout, new RegExp(`\\b${engine}\\b`), `status shows ${engine}`);
  });

  test("the document's curl examples, as written: text on vLLM, the image on SGLang", async () => {
    assert.equal(examples.length, 3);
    assertNonStreamingAnswer(await runIt(examples[0]));
    assertStreamingAnswer(await runIt(examples[1]));
    const vision = await runIt(examples[2]);
    assert.doesNotThrow(() => assertVisionAnswer(vision), vision);
  });

  test('the openai SDK per deployment and at the root, streaming included, on every engine', async () => {
    for (const [model, gpu] of [[TEXT, 0], [VISION, 0], [PLAIN, 2]] as const) {
      for (const baseURL of [`${service.url}/${model}/gpu${gpu}/v1`, `${service.url}/v1`]) {
        const openai = new OpenAI({ baseURL, apiKey: service.token, maxRetries: 0 });
        const chat = await openai.chat.completions.create({ model: baseURL.endsWith(`/gpu${gpu}/v1`) ? 'tgi' : model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 });
        assert.equal(chat.object, 'chat.completion', `${baseURL} (${model})`);
        assert.ok(chat.choices[0].message.content, `${baseURL} (${model}) answered`);
        const stream = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Count.' }], max_tokens: 6, stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        assert.ok(text.length > 0, `${baseURL} (${model}) streamed`);
      }
    }
    const models = await new OpenAI({ baseURL: `${service.url}/v1`, apiKey: service.token, maxRetries: 0 }).models.list();
    assert.deepEqual(models.data.map((m) => m.id).sort(), [TEXT, VISION, PLAIN].sort());
  });

  test('metrics and Prometheus service discovery carry the engine', async () => {
    const metrics = await (await service.fetch('/metrics')).text();
    for (const [model, engine] of [[TEXT, 'vllm'], [VISION, 'sglang'], [PLAIN, 'tgi']]) {
      const line = metrics.split('\n').find((l) => l.startsWith('gateway_requests_total{') && l.includes(`model="${model}"`));
      assert.ok(line, `gateway_requests_total for ${model}`);
      assert.match(line, new RegExp(`engine="${engine}"`), `${model}'s series say engine ${engine}: ${line}`);
    }
    const targets = (await (await service.fetch('/prometheus/targets')).json()) as Array<{ labels: Record<string, string> }>;
    const engineOf = (model: string) => targets.find((t) => t.labels.model === model)?.labels.engine;
    assert.deepEqual([engineOf(TEXT), engineOf(VISION), engineOf(PLAIN)], ['vllm', 'sglang', 'tgi']);
  });

  test('a models.yaml edit moves the models to other engines; the examples work as written there too', async () => {
    const before = (await containerOf(TEXT)).Id;
    await writeFile(config, modelsYaml({ text: 'sglang', vision: 'vllm' }));
    await waitFor('the models to be replaced on their new engines and ready', async () => {
      const text = await containerOf(TEXT).catch(() => undefined);
      const vision = await containerOf(VISION).catch(() => undefined);
      const healthy = (await fetch(`${service.url}/health`)).status === 200;
      return healthy && text?.Id !== before && !!text?.Config.Env.includes('SIM_ENGINE=sglang') && !!vision?.Config.Env.includes('SIM_ENGINE=vllm');
    }, 120_000, 500);
    assertNonStreamingAnswer(await runIt(examples[0]));
    assertStreamingAnswer(await runIt(examples[1]));
    assertVisionAnswer(await runIt(examples[2]));
  });
});
