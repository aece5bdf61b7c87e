import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_FLEET } from '../config/expand.ts';
import { checkFleetName } from '../config/validate.ts';
import { fleetLockFile, isAlive, liveHolder, stateDirLockFile, type LockHolder } from '../ownership.ts';
import { peekGatewayText } from './config-peek.ts';
import { DEFAULT_CONFIG, stateDirOf } from './options.ts';

// Which fleet `down`, `status` and `logs` act on, resolved as `up` resolves it (--fleet, else
// gateway.fleet of --config, else "default"), and the `up` that runs it, if any.

export interface TargetOptions {
  config?: string;
  stateDir?: string;
  fleet?: string;
}

export interface FleetTarget {
  fleet: string;
  /** Where the name came from: "--fleet", "gateway.fleet of models.yaml", "the default". */
  from: string;
  /** The running `up`'s state dir, else --state-dir (or the default). */
  stateDir: string;
  /** The live `up` of this fleet, from its lock. */
  running?: LockHolder;
  /**
   * Read-only fallback for an `up` whose lock is in another FLEET_LOCK_DIR: the state dir's gateway.json
   * while its pid runs. Never a reason to signal that pid (gateway.json outlives its process; pids are reused).
   */
  recorded?: LockHolder;
  /** A live `up` of another fleet holding the state dir that was named; set only without --fleet. */
  stateDirHeldBy?: LockHolder;
  /** Things the operator should know about how the target was chosen. */
  notes: string[];
}

export async function findFleet(options: TargetOptions): Promise<FleetTarget> {
  const notes: string[] = [];
  const configFile = options.config ?? DEFAULT_CONFIG;
  const named = options.fleet ? { fleet: options.fleet, from: '--fleet' } : await fleetOfConfig(configFile, notes);
  const { fleet, from } = named ?? { fleet: DEFAULT_FLEET, from: 'the default' };
  const askedStateDir = stateDirOf(options.stateDir);
  const running = await liveHolder(fleetLockFile(fleet));
  const recorded = running ? undefined : await fromGatewayFile(askedStateDir, fleet);
  if (running && options.stateDir && running.stateDir !== askedStateDir) {
    notes.push(`fleet "${fleet}" runs with state dir ${running.stateDir}, not ${askedStateDir}: using ${running.stateDir}`);
  }
  const holder = options.fleet ? undefined : await liveHolder(stateDirLockFile(askedStateDir));
  return { fleet, from, stateDir: running?.stateDir ?? askedStateDir, running, recorded, stateDirHeldBy: holder && holder.fleet !== fleet ? holder : undefined, notes };
}

/** One line naming what was acted on, e.g. `fleet "prod" (--fleet), state dir /srv/state: gateway pid 42 on port 8000`. */
export function describeTarget(target: FleetTarget): string {
  const live = target.running ?? target.recorded;
  const gateway = live ? `gateway pid ${live.pid} on port ${live.port}` : 'no gateway running';
  return `fleet "${target.fleet}" (${target.from}), state dir ${target.stateDir}: ${gateway}`;
}

/** gateway.fleet of the file, when the file exists, parses and names a valid fleet. */
async function fleetOfConfig(file: string, notes: string[]): Promise<{ fleet: string; from: string } | undefined> {
  const peeked = await peekGatewayText(file, 'fleet');
  if (!peeked) return undefined;
  if ('problem' in peeked || checkFleetName(peeked.value)) {
    notes.push(`gateway.fleet of ${file} is not a valid fleet name (\`npm run validate -- --config ${file}\` says why): using "${DEFAULT_FLEET}"`);
    return undefined;
  }
  return { fleet: peeked.value, from: `gateway.fleet of ${file}` };
}

/** The state dir's gateway.json, if it is this fleet's (without `fleet`: the default one's) and its pid runs. */
async function fromGatewayFile(stateDir: string, fleet: string): Promise<LockHolder | undefined> {
  try {
    const recorded = JSON.parse(await readFile(join(stateDir, 'gateway.json'), 'utf8')) as Partial<LockHolder>;
    if ((recorded.fleet ?? DEFAULT_FLEET) !== fleet || typeof recorded.pid !== 'number' || !isAlive(recorded.pid)) return undefined;
    return { pid: recorded.pid, fleet, port: recorded.port ?? 0, config: recorded.config ?? '', stateDir, startedAt: recorded.startedAt ?? '' };
  } catch {
    return undefined;
  }
}
