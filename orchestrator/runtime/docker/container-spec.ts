import type Dockerode from 'dockerode';
import { OTHER_ENGINES, listenArgs } from '../../config/engines.ts';
import type { DeploymentSpec } from '../../config/types.ts';
import { launcherArgs } from '../launcher-args.ts';
import { instanceHash } from '../instance-hash.ts';
import { DEFAULT_FLEET, LABEL, deploymentLabels } from './labels.ts';

/** TGI's port inside the container (the official image sets PORT=80). */
export const CONTAINER_PORT = '80/tcp';
/** Where TGI's image keeps the Hugging Face cache (its HF_HOME). */
const TGI_HF_CACHE = '/data';
/** The built-in simulator's image (scripts/build-sim-image.sh): it speaks every engine, told which by SIM_ENGINE. */
const SIMULATOR_IMAGE = /(^|\/)tgi-sim(:|@|$)/;
/** TGI drains in-flight requests for up to 90 s on SIGTERM; Docker's default of 10 s would cut it short. */
export const TGI_STOP_TIMEOUT_SECONDS = 90;

/** A readable, unique name: "tgi-hermes-2-pro-tgi-gpu0" (fleets other than the default add their name). */
export function containerName(spec: DeploymentSpec, fleet = DEFAULT_FLEET): string {
  const parts = fleet === DEFAULT_FLEET ? ['tgi', spec.model, spec.gpuLabel] : ['tgi', fleet, spec.model, spec.gpuLabel];
  return parts.join('-').replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/** A GPU's DRM render node; the kernel numbers them from 128 in device order. */
function renderNode(gpu: number): Dockerode.DeviceMapping {
  const path = `/dev/dri/renderD${128 + gpu}`;
  return { PathOnHost: path, PathInContainer: path, CgroupPermissions: 'rwm' };
}

/** How the deployment's GPUs are handed to the container, per accelerator. */
function acceleratorSettings(spec: DeploymentSpec): { hostConfig: Dockerode.HostConfig; env: Record<string, string> } {
  switch (spec.accelerator) {
    case 'nvidia':
      // The daemon sets NVIDIA_VISIBLE_DEVICES to these ids; inside, the GPUs are renumbered from 0.
      return { hostConfig: { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: spec.gpus.map(String), Capabilities: [['gpu']] }] }, env: {} };
    case 'amd':
      return {
        hostConfig: { Devices: [{ PathOnHost: '/dev/kfd', PathInContainer: '/dev/kfd', CgroupPermissions: 'rwm' }, ...spec.gpus.map(renderNode)], GroupAdd: ['video'] },
        env: {},
      };
    case 'intel':
      // Only these render nodes exist inside, so Level Zero numbers them 0..n-1: the mask uses those numbers.
      return { hostConfig: { Devices: spec.gpus.map(renderNode) }, env: { ZE_AFFINITY_MASK: spec.gpus.map((_, i) => i).join(',') } };
  }
}

/**
 * The Engine API create options for one deployment, its port published on 127.0.0.1:hostPort only,
 * labelled with the hash of everything else in them (containerHash).
 */
export function containerOptions(spec: DeploymentSpec, hostPort: number, fleet = DEFAULT_FLEET): Dockerode.ContainerCreateOptions {
  const options = unlabelledOptions(spec, hostPort, fleet);
  options.Labels = { ...deploymentLabels(spec, fleet), [LABEL.configHash]: hashOfOptions(options) };
  return options;
}

/** The hash a container of this spec carries: over its create options, less the host port and the labels. */
export function containerHash(spec: DeploymentSpec, fleet = DEFAULT_FLEET): string {
  return hashOfOptions(unlabelledOptions(spec, 0, fleet));
}

function hashOfOptions(options: Dockerode.ContainerCreateOptions): string {
  const { Labels: _labels, HostConfig, ...rest } = options;
  const { PortBindings: _ports, ...hostConfig } = HostConfig ?? {};
  return instanceHash({ ...rest, HostConfig: hostConfig });
}

/** The port the server listens on inside the container, in Docker's "<port>/tcp" form. */
export function containerPort(spec: DeploymentSpec): string {
  const engine = spec.engine ?? 'tgi';
  return engine === 'tgi' ? CONTAINER_PORT : `${OTHER_ENGINES[engine].containerPort}/tcp`;
}

/**
 * The host port a container of any engine is published on (its 127.0.0.1 binding, whichever port it
 * exposes: 80 for TGI, 8000 for vLLM, 30000 for SGLang), read back from `docker inspect`.
 */
export function publishedHostPort(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null | undefined> | undefined): number | undefined {
  for (const port of Object.keys(bindings ?? {}).sort()) {
    const binding = bindings?.[port]?.find((b) => b.HostIp === '127.0.0.1');
    if (binding?.HostPort) return Number(binding.HostPort);
  }
  return undefined;
}

/**
 * What differs per engine. TGI's is what it always was (its containers' hash must not change): PORT=80
 * in env, the cache at /data, the launcher's argv. vLLM and SGLang read no PORT: they are told where to
 * listen; their program comes first unless it is the image's entrypoint (vLLM's `vllm serve`), and
 * always on the simulator's image (whose entrypoint is the simulator); the cache is their HF_HOME.
 */
function engineSettings(spec: DeploymentSpec): { cmd: string[]; env: Record<string, string>; cacheInContainer: string } {
  const engine = spec.engine ?? 'tgi';
  const simulated = SIMULATOR_IMAGE.test(spec.image);
  if (engine === 'tgi') return { cmd: launcherArgs(spec), env: { PORT: '80' }, cacheInContainer: TGI_HF_CACHE };
  const facts = OTHER_ENGINES[engine];
  return {
    cmd: [...(simulated || !facts.programIsEntrypoint ? facts.program : []), ...launcherArgs(spec), ...listenArgs(engine, '0.0.0.0', facts.containerPort)],
    env: simulated ? { SIM_ENGINE: engine } : {},
    cacheInContainer: facts.hfCacheInContainer,
  };
}

function unlabelledOptions(spec: DeploymentSpec, hostPort: number, fleet: string): Dockerode.ContainerCreateOptions {
  const accelerator = acceleratorSettings(spec);
  const engine = engineSettings(spec);
  const port = containerPort(spec);
  const env = { ...spec.env, ...engine.env, ...accelerator.env };
  return {
    name: containerName(spec, fleet),
    Image: spec.image,
    Cmd: engine.cmd,
    // In name order, so the same environment always makes the same container (and the same hash).
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`).sort(),
    ExposedPorts: { [port]: {} },
    StopTimeout: TGI_STOP_TIMEOUT_SECONDS,
    HostConfig: {
      ...accelerator.hostConfig,
      // Not IpcMode 'host' (which vLLM's docs also offer): that would share the host's IPC namespace
      // with the container; a /dev/shm of shm_size is all the engines' worker processes need.
      ShmSize: spec.shmSizeBytes,
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] },
      Binds: [`${spec.hfCache}:${engine.cacheInContainer}`],
      RestartPolicy: { Name: 'unless-stopped' },
    },
  };
}
