import type { Fleet } from '../fleet.ts';
import { ConfigInvalidError, Fleet as FleetClass } from '../fleet.ts';
import { log } from '../log.ts';
import { StartRefused } from '../ownership.ts';
import { formatDuration, renderTable } from './table.ts';
import { stateDirOf } from './options.ts';

export interface UpOptions {
  config: string;
  port?: number;
  stateDir?: string;
  fleet?: string;
}

export async function up(options: UpOptions): Promise<void> {
  const stateDir = stateDirOf(options.stateDir);
  let started: Awaited<ReturnType<typeof FleetClass.start>>;
  // Installed before the start, so a Ctrl-C while it runs still drains and stops the servers in order.
  let ready!: (fleet: Fleet | undefined) => void;
  handleSignals(new Promise((resolve) => (ready = resolve)));
  try {
    started = await FleetClass.start({ configFile: options.config, stateDir, port: options.port, fleet: options.fleet, token: process.env.VALID_TOKEN || undefined });
  } catch (error) {
    if (error instanceof ConfigInvalidError) {
      console.error(`${options.config} cannot be run; nothing was started:\n${error.report}`);
    } else if (error instanceof StartRefused) {
      console.error(`up refused: ${error.message}`);
    } else {
      console.error(`up failed: ${error instanceof Error ? error.message : error}`);
    }
    ready(undefined);
    process.exit(1);
  }
  const { fleet, settled } = started;
  ready(fleet);
  printBanner(fleet, stateDir);
  const progress = reportProgress(fleet);
  void settled.then(() => {
    clearInterval(progress);
    const failed = fleet.table.all().filter((d) => d.state === 'failed');
    if (failed.length) log.error(`${failed.length} deployment(s) failed: ${failed.map((d) => d.key).join(', ')} (see above; fix models.yaml and save, or send SIGHUP to retry)`);
    else log.info(`all ${fleet.table.all().length} deployment(s) ready`);
  });
}

function printBanner(fleet: Fleet, stateDir: string): void {
  const rows = fleet.table.all().map((d) => [`/${d.key}`, d.spec.modelId, d.spec.gpus.join(','), d.spec.runtime, d.state]);
  console.log('');
  console.log(`VALID_TOKEN=${fleet.tokens.token}`);
  console.log('');
  console.log(renderTable(['ROUTE', 'MODEL ID', 'GPUS', 'RUNTIME', 'STATE'], rows));
  console.log('');
  const first = fleet.table.all()[0];
  console.log(`Fleet "${fleet.name}": gateway listening on http://localhost:${fleet.port} (token above; ${fleet.tokens.hint} again).`);
  console.log(`Following edits of ${fleet.config.file} (saving applies them; SIGHUP reloads); state dir ${stateDir}${fleet.settings.keysFile ? `; API keys in ${fleet.settings.keysFile} (gateway.keys_file)` : ''}.`);
  if (first) console.log(`Try: curl -s http://localhost:${fleet.port}/${first.key}/generate -H "Authorization: Bearer $VALID_TOKEN" -H 'Content-Type: application/json' -d '{"inputs":"Hello","parameters":{"max_new_tokens":20}}'`);
  console.log('');
}

/** While deployments are starting, one line every 5 s with where each one is. */
function reportProgress(fleet: Fleet): NodeJS.Timeout {
  return setInterval(() => {
    const starting = fleet.table.all().filter((d) => d.state !== 'ready' && d.state !== 'failed');
    if (!starting.length) return;
    log.info(`waiting for ${starting.map((d) => `${d.key} ${d.state}${d.phase ? ` (${d.phase})` : ''} ${formatDuration(Date.now() - d.since)}`).join('; ')}`);
  }, 5000).unref();
}

/** What handleSignals drains and stops: `up`'s Fleet, or a gateway replica (orchestrator/cli/gateway.ts). */
export interface Stoppable {
  readonly table: { all(): readonly { key: string; inFlight: number }[] };
  readonly settings: { drainTimeoutMs: number };
  readonly name: string;
  /** Whether servers outlive this process in containers (said when it stops). */
  readonly usesDocker: boolean;
  shutdown(): Promise<void>;
  /** Kills the local servers this process runs; how many. */
  killLocalServers(): number;
  reload(reason: string): unknown;
}

/**
 * SIGINT/SIGTERM: stop accepting, drain in-flight requests, stop the local servers, exit 0.
 * One Ctrl-C often arrives more than once: the terminal signals its whole foreground process group
 * and npm forwards the signal to its script as well, so a repeat within a second of the first is the
 * same keypress and is ignored. A later one means "now": in-flight requests are cut, the local
 * servers are killed, and the exit code is 128 + the signal number (130 for Ctrl-C).
 */
export function handleSignals(started: Promise<Stoppable | undefined>): void {
  const SAME_KEYPRESS_MS = 1000;
  let firstAt: number | undefined;
  let current: Stoppable | undefined;
  void started.then((fleet) => (current = fleet));
  const exitNow = (signal: NodeJS.Signals, afterMs: number): never => {
    const fleet = current;
    if (!fleet) {
      log.warn(`${signal} again while starting: exiting now`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    const busy = fleet.table.all().filter((d) => d.inFlight > 0);
    const inFlight = busy.reduce((sum, d) => sum + d.inFlight, 0);
    const cut = `${inFlight} in-flight request(s)${busy.length ? ` (${busy.map((d) => `${d.key}: ${d.inFlight}`).join(', ')})` : ''}`;
    // Local servers run in their own process groups (a terminal's Ctrl-C does not reach them), so
    // nothing else stops them once this process is gone.
    const killed = fleet.killLocalServers();
    log.warn(`${signal} again ${(afterMs / 1000).toFixed(1)}s after the first: exiting without waiting; cut ${cut} and killed ${killed} local server(s)${fleet.usesDocker ? '; the TGI containers keep running' : ''}`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      const afterMs = Date.now() - firstAt;
      if (afterMs < SAME_KEYPRESS_MS) return void log.debug(`${signal} ${afterMs} ms after the first: the same stop request relayed again (terminal process group, npm); ignored`);
      exitNow(signal, afterMs);
    }
    firstAt = Date.now();
    const fleet = current ?? (await started);
    if (!fleet) return;
    log.info(`${signal}: no new requests; draining in-flight requests (up to ${formatDuration(fleet.settings.drainTimeoutMs)}; a second ${signal === 'SIGINT' ? 'Ctrl-C' : signal} cuts them and exits now)`);
    await fleet.shutdown();
    const fleetOption = fleet.name === 'default' ? '' : ` -- --fleet ${fleet.name}`;
    if (fleet.usesDocker) log.info(`stopped; the TGI containers keep running (the next \`npm run up\` adopts them); \`npm run down${fleetOption}\` removes them`);
    else log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void current?.reload('SIGHUP'));
}
