import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../orchestrator/net.ts';

// A real redis-server for tests: on a free loopback port, in a temp dir, no persistence (no RDB, no AOF),
// so nothing outlives the test. stop() and start() again keep the port, for outage tests.

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER ?? 'redis-server';

/**
 * undefined when redis-server can be run; otherwise the one-line reason to skip. Under CI=true the tests
 * never skip (CI installs Debian's redis-server): this throws instead, so a missing binary fails loudly.
 */
export function redisSkipReason(): string | undefined {
  const probe = spawnSync(REDIS_SERVER_BIN, ['--version'], { encoding: 'utf8' });
  if (!probe.error && probe.status === 0) return undefined;
  const reason = `${REDIS_SERVER_BIN} is not installed (apt-get install redis-server, or set REDIS_SERVER to its path)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port>/<db>, db 0 unless given. */
  url: string;
  urlForDb(db: number): string;
  /** Whether the process is running now. */
  running(): boolean;
  /** Everything it printed since the last start. */
  output(): string;
  /** Stops it (SIGTERM, then waits for the exit); the port stays reserved for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** SIGSTOP: it keeps its connections open and answers nothing (a stalled Redis); thaw() resumes it. */
  freeze(): void;
  thaw(): void;
  /** Stops it and removes its temp dir. */
  cleanup(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';

  const start = async () => {
    if (child) throw new Error('redis-server is already running; stop() it first');
    out = '';
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
    const proc = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    exited = new Promise<void>((resolve) => proc.once('exit', () => { if (child === proc) child = undefined; resolve(); }));
    const deadline = Date.now() + 15_000;
    while (!(await answersPing(port))) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server exited before it accepted connections on port ${port}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not accept connections on port ${port} within 15 s:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGCONT'); // a frozen one would not hear SIGTERM
    proc.kill('SIGTERM');
    await exited;
    child = undefined;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    urlForDb: (db) => `redis://127.0.0.1:${port}/${db}`,
    running: () => child !== undefined,
    output: () => out,
    stop,
    start,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a Redis on 127.0.0.1:port answers PING with PONG (inline command, no client library needed). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => { reply += d; if (reply.includes('\r\n')) done(reply.startsWith('+PONG')); });
  });
}
