// Starts the simulator as vLLM or SGLang (SIM_ENGINE) on a free loopback port, with that engine's
// CLI, and waits for the engine's own readiness: vLLM "Application startup complete.", SGLang
// "The server is fired up and ready to roll!".
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT, SIM_ENTRY } from '../helpers/sim.ts';

export type Engine = 'vllm' | 'sglang';

export interface EngineProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export const READY_LINE: Record<Engine, string> = { vllm: 'Application startup complete.', sglang: 'The server is fired up and ready to roll!' };

/** The engine's launch arguments for a model and port (extra flags appended). */
export function engineArgs(engine: Engine, model: string, port: number, extra: string[] = []): string[] {
  if (engine === 'vllm') return ['serve', model, '--host', '127.0.0.1', '--port', String(port), ...extra];
  return ['python', '-m', 'sglang.launch_server', '--model-path', model, '--host', '127.0.0.1', '--port', String(port), ...extra];
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startEngine(engine: Engine, options: { model?: string; args?: string[]; env?: Record<string, string>; waitReady?: boolean; rawArgs?: string[] } = {}): Promise<EngineProcess> {
  const port = await freePort();
  const args = options.rawArgs ?? engineArgs(engine, options.model ?? 'sim/engine-model', port, options.args);
  const child = spawn(process.execPath, ['--import', 'tsx', SIM_ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, SIM_ENGINE: engine, SIM_LOAD_SECONDS: '0', SIM_WARMUP_SECONDS: '0', SIM_TOKENS_PER_SECOND: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: EngineProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (options.waitReady ?? true) {
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    await waitFor(() => out.includes(READY_LINE[engine]) || code !== undefined, `${engine} to be ready`);
    if (code !== undefined) throw new Error(`${engine} simulator exited with ${code} before it was ready:\n${out}`);
  }
  return proc;
}
