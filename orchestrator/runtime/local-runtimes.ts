import { fileURLToPath } from 'node:url';
import { engineProgram } from '../config/engines.ts';
import type { DeploymentSpec } from '../config/types.ts';
import { join } from 'node:path';
import { ChildRecords } from './leftover-processes.ts';
import { ProcessDriver } from './process-driver.ts';

const SIMULATOR_ENTRY = fileURLToPath(new URL('../../docker/tgi-sim/main.ts', import.meta.url));

/** The simulator's knobs from models.yaml `simulator:` as the env it reads. */
export function simulatorEnv(spec: DeploymentSpec): Record<string, string> {
  const sim = spec.simulator;
  const env: Record<string, string> = {
    SIM_LOAD_SECONDS: String(sim.loadSeconds),
    SIM_TOKENS_PER_SECOND: String(sim.tokensPerSecond),
    SIM_VISION: spec.vision ? '1' : '0',
    // Which server to speak, and so which CLI the argv is in (runtime/launcher-args.ts).
    SIM_ENGINE: spec.engine ?? 'tgi',
  };
  if (sim.crashAfterRequests !== undefined) env.SIM_CRASH_AFTER_REQUESTS = String(sim.crashAfterRequests);
  if (sim.crashOnLoad) env.SIM_CRASH_ON_LOAD = '1';
  if (sim.hang) env.SIM_HANG = '1';
  return env;
}

/** The built-in TGI simulator as local child processes: the demo engine, no GPU and no Docker. */
export function simulatorDriver(stateDir: string): ProcessDriver {
  return new ProcessDriver({
    kind: 'simulator',
    logDir: join(stateDir, 'logs'),
    childRecords: new ChildRecords(join(stateDir, 'simulator-processes.json')),
    // Then the engine's program (`vllm serve`, `python3 -m sglang.launch_server`): the simulator reads the engine's whole CLI.
    command: (spec) => [process.execPath, '--import', import.meta.resolve('tsx'), SIMULATOR_ENTRY, ...engineProgram(spec.engine)],
    env: simulatorEnv,
    stopTimeoutMs: 5000,
  });
}

/** Operator-supplied servers (e.g. a native text-generation-launcher) as child processes. */
export function commandDriver(stateDir: string): ProcessDriver {
  return new ProcessDriver({
    kind: 'process',
    logDir: join(stateDir, 'logs'),
    childRecords: new ChildRecords(join(stateDir, 'processes.json')),
    command: (spec) => spec.command ?? [],
    stopTimeoutMs: 90_000,
  });
}
