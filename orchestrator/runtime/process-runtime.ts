import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentSpec, RuntimeKind } from '../config/types.ts';
import type { Deployment } from '../deployment/deployment.ts';
import { CrashLoopDetector } from '../health/crash-loop.ts';
import { diagnose } from '../health/diagnose.ts';
import { LogTail } from '../health/log-tail.ts';
import { phaseFromLogLine } from '../health/phase.ts';
import { fetchInfo, waitUntilHealthy } from '../health/ready.ts';
import { log } from '../log.ts';
import { freePort } from '../net.ts';
import { launcherArgs } from './launcher-args.ts';
import { followFile } from './follow-file.ts';
import type { Instance, LogOptions, Runtime } from './runtime.ts';

export interface ProcessRuntimeOptions {
  kind: RuntimeKind;
  /** Where each deployment's output is written (<logDir>/<model>_<gpuLabel>.log), for `npm run logs`. */
  logDir: string;
  /** argv of the server for a spec (launcher flags, --port and --hostname are appended). */
  command: (spec: DeploymentSpec) => string[];
  /** Extra environment for a spec's server. */
  env?: (spec: DeploymentSpec) => Record<string, string>;
  /** SIGTERM, then SIGKILL after this long (TGI's launcher drains for up to 90 s). */
  stopTimeoutMs?: number;
  /** Longest wait for a server to become healthy before it is declared failed. */
  loadTimeoutMs?: number;
}

interface Supervised {
  child: ChildProcess;
  tail: LogTail;
  logFile: WriteStream;
  crashes: CrashLoopDetector;
  stopping: boolean;
  /** Aborted when the current instance exits, so a pending health wait ends at once. */
  alive: AbortController;
}

/** Where a local deployment's output goes: <logDir>/<model>_<gpuLabel>.log (`npm run logs` reads it). */
export function localLogFile(logDir: string, key: string): string {
  return join(logDir, `${key.replace('/', '_')}.log`);
}

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Runs each deployment as a local child process: a native `text-generation-launcher` (runtime
 * `process`, GPUs pinned with CUDA_VISIBLE_DEVICES) or the TGI simulator (runtime `simulator`).
 * Children are supervised like a restart policy would: a crash → down → restarted with backoff;
 * 3 crashes in 5 minutes → failed. Children cannot outlive the orchestrator: close() stops them.
 */
export class ProcessRuntime implements Runtime {
  readonly kind: RuntimeKind;
  private readonly supervised = new Map<Deployment, Supervised>();

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.kind = options.kind;
  }

  async discover(): Promise<Instance[]> {
    return [];
  }

  async adopt(d: Deployment): Promise<void> {
    return this.start(d);
  }

  async start(d: Deployment): Promise<void> {
    await mkdir(this.options.logDir, { recursive: true });
    const logFile = createWriteStream(this.logPath(d), { flags: 'a' });
    const entry: Supervised = { child: undefined as unknown as ChildProcess, tail: new LogTail(), logFile, crashes: new CrashLoopDetector(), stopping: false, alive: new AbortController() };
    this.supervised.set(d, entry);
    d.transition('creating');
    await this.launch(d, entry);
  }

  private async launch(d: Deployment, entry: Supervised): Promise<void> {
    const port = await freePort();
    const { spec } = d;
    const [file, ...args] = [...this.options.command(spec), ...launcherArgs(spec), '--port', String(port), '--hostname', '127.0.0.1'];
    const env = { ...process.env, ...spec.env, ...this.options.env?.(spec), CUDA_VISIBLE_DEVICES: spec.gpus.join(','), NUM_SHARD: String(spec.gpus.length) };
    entry.alive = new AbortController();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    entry.child = child;
    d.upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
    d.instanceId = String(child.pid ?? '');
    const onOutput = (chunk: Buffer) => {
      entry.logFile.write(chunk);
      for (const line of entry.tail.write(chunk)) {
        const phase = phaseFromLogLine(line);
        if (phase && phase !== 'connected' && d.state === 'loading') d.setPhase(phase);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (error) => entry.tail.push(`failed to start ${file}: ${error.message}`));
    child.once('exit', (code, signal) => this.onExit(d, entry, child, code, signal));
    d.tryTransition('loading', `pid ${child.pid ?? '?'}, port ${port}`);
    await this.awaitReady(d, entry);
  }

  private async awaitReady(d: Deployment, entry: Supervised): Promise<void> {
    const giveUp = AbortSignal.any([entry.alive.signal, AbortSignal.timeout(this.options.loadTimeoutMs ?? 30 * 60_000)]);
    try {
      await waitUntilHealthy(d.upstream!, giveUp);
    } catch {
      if (entry.stopping || d.state !== 'loading') return;
      const exited = entry.alive.signal.aborted;
      const message = exited ? `the server exited while loading` : `the server did not become healthy in time`;
      d.fail({ message, diagnosis: diagnose({ logTail: entry.tail.lines() }), logTail: entry.tail.lines(15) });
      if (!exited) entry.child.kill('SIGKILL');
      return;
    }
    d.tgiInfo = await fetchInfo(d.upstream!);
    d.tryTransition('ready');
  }

  private onExit(d: Deployment, entry: Supervised, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (entry.child !== child) return;
    entry.alive.abort();
    if (entry.stopping || d.state === 'failed') return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (d.state === 'loading' && d.restarts === 0) return; // awaitReady reports a first load that dies
    d.restarts += 1;
    d.tryTransition('down', how);
    if (entry.crashes.recordExit()) {
      d.fail({ message: `crash loop: exited 3 times within 5 minutes (last: ${how})`, diagnosis: diagnose({ logTail: entry.tail.lines() }), logTail: entry.tail.lines(15) });
      return;
    }
    const delay = RESTART_BACKOFF_MS[Math.min(d.restarts - 1, RESTART_BACKOFF_MS.length - 1)];
    log.warn({ deployment: d.key }, `${d.key}: exited (${how}); restarting in ${delay / 1000}s`);
    setTimeout(() => {
      if (!entry.stopping && this.supervised.get(d) === entry) void this.launch(d, entry);
    }, delay).unref();
  }

  async stop(d: Deployment): Promise<void> {
    const entry = this.supervised.get(d);
    if (!entry) return;
    this.supervised.delete(d);
    entry.stopping = true;
    const { child } = entry;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    }
    entry.logFile.end();
  }

  async removeInstance(): Promise<void> {
    // Child processes never outlive the orchestrator: there is nothing left from an earlier run.
  }

  logs(d: Deployment, options: LogOptions): AsyncIterable<string> {
    return followFile(this.logPath(d), options);
  }

  logPath(d: Deployment): string {
    return localLogFile(this.options.logDir, d.key);
  }

  async close(): Promise<void> {
    await Promise.all([...this.supervised.keys()].map((d) => this.stop(d)));
  }
}
