import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentSpec, RuntimeKind } from '../config/types.ts';
import { listenArgs } from '../config/engines.ts';
import { stripAnsi } from '../health/ansi.ts';
import { freePort } from '../net.ts';
import type { ChildRecords } from './leftover-processes.ts';
import type { DriverEvent, LogLinesOptions, ObservedInstance, RuntimeDriver } from './driver.ts';
import { instanceHash } from './instance-hash.ts';
import { launcherArgs } from './launcher-args.ts';

export interface ProcessDriverOptions {
  kind: RuntimeKind;
  /** Where each deployment's output is written (<logDir>/<model>_<gpuLabel>.log), for `npm run logs`. */
  logDir: string;
  /** argv of the server for a spec (launcher flags, --port and --hostname are appended). */
  command: (spec: DeploymentSpec) => string[];
  /** Extra environment for a spec's server. */
  env?: (spec: DeploymentSpec) => Record<string, string>;
  /** SIGTERM, then SIGKILL after this long (TGI's launcher drains for up to 90 s). */
  stopTimeoutMs?: number;
  /** Where the children are recorded, so a later `up` can stop those an earlier one left running. */
  childRecords?: ChildRecords;
}

/** Where a local deployment's output goes: <logDir>/<model>_<gpuLabel>.log (`npm run logs` reads it). */
export function localLogFile(logDir: string, key: string): string {
  return join(logDir, `${key.replace('/', '_')}.log`);
}

/** Variables of the orchestrator's own environment that a server must never inherit. */
const PRIVATE_ENV = ['VALID_TOKEN'];
const KEPT_LINES = 200;
/**
 * Node can emit a child's 'exit' before the last of its output has been read (its docs: the stdio
 * streams may still be open), and a launcher's last line is often the one that says why it stopped.
 * An exit is reported once both pipes have closed, or after this long: a process the server started
 * (a shard) may hold them open.
 */
const OUTPUT_DRAIN_MS = 500;

interface Line {
  at: number;
  text: string;
}

/** One deployment's server: the same argv and port across restarts, a new child process each run. */
interface Slot {
  id: string;
  spec: DeploymentSpec;
  port: number;
  argv: string[];
  env: Record<string, string>;
  child?: ChildProcess;
  startedAt?: number;
  exit?: string;
  /** The child has exited and its last output is being read: it is reported as running until then. */
  exitPending?: Promise<void>;
  lines: Line[];
  partial: string;
  followers: Set<(line: string) => void>;
  logFile: WriteStream;
}

/**
 * Local child processes as instances: a native `text-generation-launcher` (runtime `process`, GPUs
 * pinned with CUDA_VISIBLE_DEVICES) or the TGI simulator (runtime `simulator`). Each child runs in
 * its own process group, so a terminal's Ctrl-C reaches only the orchestrator, which stops the
 * children itself (the whole group: a launcher's shard processes too). Children cannot outlive the
 * orchestrator: close() stops them, and nothing restarts them but the supervisor.
 */
export class ProcessDriver implements RuntimeDriver {
  readonly kind: RuntimeKind;
  readonly restartsByItself = false;
  private readonly slots = new Map<string, Slot>();
  private readonly listeners: ((event: DriverEvent) => void)[] = [];
  private nextId = 1;
  private leftoversStopped?: Promise<void>;

  constructor(private readonly options: ProcessDriverOptions) {
    this.kind = options.kind;
  }

  configHash(spec: DeploymentSpec): string {
    const { argv, env } = this.invocation(spec);
    return instanceHash({ argv, env, gpus: spec.gpus });
  }

  async list(): Promise<ObservedInstance[]> {
    await this.stopLeftovers();
    return [...this.slots.values()].map((slot) => this.observe(slot));
  }

  async inspect(id: string): Promise<ObservedInstance | undefined> {
    const slot = this.slots.get(id);
    return slot && this.observe(slot);
  }

  async prepare(): Promise<void> {
    await this.stopLeftovers();
    await mkdir(this.options.logDir, { recursive: true });
  }

  async create(spec: DeploymentSpec): Promise<ObservedInstance> {
    const { argv, env } = this.invocation(spec);
    const port = await freePort();
    const id = `${spec.key}#${this.nextId++}`;
    const logFile = createWriteStream(localLogFile(this.options.logDir, spec.key), { flags: 'a' });
    const slot: Slot = { id, spec, port, argv: [...argv, ...listenArgs(spec.engine, '127.0.0.1', port)], env, lines: [], partial: '', followers: new Set(), logFile };
    this.slots.set(id, slot);
    this.launch(slot);
    return this.observe(slot);
  }

  async start(id: string): Promise<void> {
    const slot = this.slots.get(id);
    if (!slot) throw new Error(`no process instance ${id}`);
    if (!isAlive(slot.child)) this.launch(slot);
  }

  async stop(id: string): Promise<void> {
    const slot = this.slots.get(id);
    const child = slot?.child;
    if (!slot || !child) return;
    if (isAlive(child)) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // SIGTERM goes to the server alone, as `docker stop` does (TGI's launcher drains its webserver,
      // then stops its shards); SIGKILL goes to its whole process group, so no shard outlives it.
      child.kill('SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), this.options.stopTimeoutMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    }
    await slot.exitPending; // its last lines reach the log file before remove() closes it
  }

  async remove(id: string): Promise<void> {
    await this.stop(id);
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    slot.logFile.end();
  }

  async *logLines(id: string, options: LogLinesOptions): AsyncGenerator<string> {
    const slot = this.slots.get(id);
    if (!slot) return;
    const inRange = (line: Line) => (options.since === undefined || line.at >= options.since) && (options.until === undefined || line.at <= options.until);
    const kept = slot.lines.filter(inRange).map((line) => line.text);
    yield* options.tail === undefined ? kept : kept.slice(-options.tail);
    if (!options.follow) return;
    const queue: string[] = [];
    let wakeUp: (() => void) | undefined;
    const follower = (line: string) => {
      queue.push(line);
      wakeUp?.();
    };
    slot.followers.add(follower);
    const aborted = new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    try {
      while (!options.signal?.aborted && this.slots.has(id)) {
        if (!queue.length) await Promise.race([new Promise<void>((resolve) => (wakeUp = resolve)), aborted]);
        yield* queue.splice(0);
      }
    } finally {
      slot.followers.delete(follower);
    }
  }

  onEvent(listener: (event: DriverEvent) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.remove(id)));
    await this.options.childRecords?.flushed();
  }

  /** Exiting at once (a second Ctrl-C): every child's process group is killed, nothing waited for. */
  killAll(): number {
    let killed = 0;
    for (const slot of this.slots.values()) {
      if (!isAlive(slot.child)) continue;
      signalGroup(slot.child!, 'SIGKILL');
      killed += 1;
    }
    return killed;
  }

  /** Once per driver: servers an earlier `up` on this state dir left running are stopped first. */
  private stopLeftovers(): Promise<void> {
    this.leftoversStopped ??= this.options.childRecords?.stopLeftovers(this.options.stopTimeoutMs ?? 10_000) ?? Promise.resolve();
    return this.leftoversStopped;
  }

  /** The server's argv (without --port/--hostname) and the environment it gets beyond the orchestrator's. */
  private invocation(spec: DeploymentSpec): { argv: string[]; env: Record<string, string> } {
    const argv = [...this.options.command(spec), ...launcherArgs(spec)];
    const env = { ...spec.env, ...this.options.env?.(spec), CUDA_VISIBLE_DEVICES: spec.gpus.join(','), NUM_SHARD: String(spec.gpus.length) };
    return { argv, env };
  }

  private launch(slot: Slot): void {
    const [file, ...args] = slot.argv;
    const env: NodeJS.ProcessEnv = { ...process.env, ...slot.env };
    for (const name of PRIVATE_ENV) delete env[name];
    // detached: its own process group, out of reach of the terminal's SIGINT.
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.exit = undefined;
    slot.exitPending = undefined;
    // Stored and kept line by line, without ANSI colour codes.
    const onOutput = (chunk: Buffer) => {
      const lines = (slot.partial + chunk.toString()).split(/\r?\n/);
      slot.partial = lines.pop() ?? '';
      for (const line of lines) {
        const text = stripAnsi(line);
        slot.logFile.write(`${text}\n`);
        if (text.trim()) this.keep(slot, text);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (error) => this.keep(slot, `failed to start ${file}: ${error.message}`));
    if (child.pid !== undefined) this.options.childRecords?.add(slot.id, { pid: child.pid, program: file, key: slot.spec.key });
    child.once('exit', (code, signal) => {
      this.options.childRecords?.delete(slot.id);
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      // 'close' comes once both pipes have closed too (all output read); a shard holding them open is not waited for.
      slot.exitPending = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, OUTPUT_DRAIN_MS);
        child.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      }).then(() => this.exited(slot, child, how));
    });
  }

  /** The child's exit, reported once its output has been read (OUTPUT_DRAIN_MS). */
  private exited(slot: Slot, child: ChildProcess, how: string): void {
    if (slot.child !== child) return; // started again meanwhile: that run reports its own exit
    const rest = stripAnsi(slot.partial);
    if (rest.trim()) {
      slot.logFile.write(`${rest}\n`);
      this.keep(slot, rest);
    }
    slot.partial = '';
    slot.exit = how;
    slot.exitPending = undefined;
    this.emit({ kind: 'instance', id: slot.id, what: 'exit', detail: how });
  }

  private keep(slot: Slot, text: string): void {
    slot.lines.push({ at: Date.now(), text });
    if (slot.lines.length > KEPT_LINES) slot.lines.splice(0, slot.lines.length - KEPT_LINES);
    for (const follower of slot.followers) follower(text);
  }

  private observe(slot: Slot): ObservedInstance {
    const running = isAlive(slot.child) || slot.exitPending !== undefined;
    return {
      id: slot.id,
      key: slot.spec.key,
      configHash: this.configHash(slot.spec),
      name: `pid ${slot.child?.pid ?? '?'}`,
      running,
      restarting: false,
      upstream: { host: '127.0.0.1', port: slot.port, url: `http://127.0.0.1:${slot.port}` },
      runId: slot.child?.pid === undefined ? `${slot.startedAt}` : `${slot.child.pid}@${slot.startedAt}`,
      startedAt: slot.startedAt,
      runtimeRestarts: 0,
      exit: running ? undefined : slot.exit ?? 'did not start',
    };
  }

  private emit(event: DriverEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function isAlive(child: ChildProcess | undefined): boolean {
  return Boolean(child && child.exitCode === null && child.signalCode === null && child.pid !== undefined);
}

/** Signals the child's whole process group (it leads one: spawned detached). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}
