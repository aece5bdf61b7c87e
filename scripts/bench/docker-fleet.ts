import { spawn } from 'node:child_process';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL } from '../../orchestrator/runtime/docker/labels.ts';
import { dockerClient } from '../../orchestrator/runtime/docker/client.ts';
import { ROOT } from '../../test/helpers/sim.ts';

// What the startup scenario needs around `up`: a GPU host to pretend to be (a stand-in nvidia-smi),
// a models.yaml of simulator containers, the simulator image, and the removal of exactly the
// containers this bench made (other engineers' and operators' containers stay untouched).

export const SIM_IMAGE = 'tgi-sim:local';
export const BENCH_MODEL = 'bench-startup';
const BUILD_SCRIPT = join(ROOT, 'scripts/build-sim-image.sh');

/** A folder holding an `nvidia-smi` that answers the inventory query for `count` H100s; put it first on PATH. */
export async function writeStandInNvidiaSmi(dir: string, count: number): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const lines = Array.from({ length: count }, (_, i) => `echo "${i}, GPU-00000000-0000-4000-8000-${String(i).padStart(12, '0')}, NVIDIA H100 80GB HBM3, 81559, 512, 0"`);
  const script = [
    '#!/bin/sh',
    '# Stand-in nvidia-smi for the bench (no GPU here): answers the inventory query only.',
    'if [ "$1" = "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu" ]; then',
    ...lines.map((l) => `  ${l}`),
    '  exit 0',
    'fi',
    'echo "stand-in nvidia-smi: unsupported arguments: $*" >&2',
    'exit 2',
  ].join('\n');
  const path = join(bin, 'nvidia-smi');
  await writeFile(path, script + '\n');
  await chmod(path, 0o755);
  return bin;
}

/** models.yaml with one simulator container per GPU 0..count-1, each "loading" for loadSeconds. */
export async function writeStartupConfig(dir: string, count: number, loadSeconds: number): Promise<string> {
  const path = join(dir, 'models.bench-startup.yaml');
  const gpus = Array.from({ length: count }, (_, i) => i).join(', ');
  await writeFile(
    path,
    `defaults:
  image: ${SIM_IMAGE}
  pull: never
  hf_cache: ${join(dir, 'hf-cache')}
models:
  - name: ${BENCH_MODEL}
    model_id: bench/startup
    gpus: [${gpus}]
    env: { SIM_LOAD_SECONDS: "${loadSeconds}", SIM_TOKENS_PER_SECOND: "0" }
`,
  );
  return path;
}

/** Builds the simulator image with the project's script, so the bench runs the current simulator. */
export async function buildSimImage(): Promise<void> {
  await access(BUILD_SCRIPT).catch(() => {
    throw new Error(`${BUILD_SCRIPT} is missing: it builds ${SIM_IMAGE}`);
  });
  const child = spawn('bash', [BUILD_SCRIPT], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve)); // all output read
  if (code !== 0) throw new Error(`scripts/build-sim-image.sh exited with ${code}:\n${output.slice(-4000)}`);
}

/** IDs of the containers made for BENCH_MODEL, sorted. */
export async function benchContainerIds(): Promise<string[]> {
  const containers = await dockerClient().listContainers({ all: true, filters: { label: [`${LABEL.managed}=true`, `${LABEL.model}=${BENCH_MODEL}`] } });
  return containers.map((c) => c.Id).sort();
}

export async function removeBenchContainers(): Promise<void> {
  const docker = dockerClient();
  await Promise.all((await benchContainerIds()).map((id) => docker.getContainer(id).remove({ force: true })));
}
