import type { Fleet } from '../fleet.ts';
import { ConfigInvalidError, Fleet as FleetClass } from '../fleet.ts';
import { log } from '../log.ts';
import { formatDuration, renderTable } from './table.ts';
import { stateDirOf } from './options.ts';

export interface UpOptions {
  config: string;
  port?: number;
  stateDir?: string;
}

export async function up(options: UpOptions): Promise<void> {
  const stateDir = stateDirOf(options.stateDir);
  let started: Awaited<ReturnType<typeof FleetClass.start>>;
  try {
    started = await FleetClass.start({ configFile: options.config, stateDir, port: options.port, token: process.env.VALID_TOKEN || undefined });
  } catch (error) {
    if (error instanceof ConfigInvalidError) {
      console.error(`${options.config} cannot be run; nothing was started:\n${error.report}`);
    } else {
      console.error(`up failed: ${error instanceof Error ? error.message : error}`);
    }
    process.exit(1);
  }
  const { fleet, settled } = started;
  printBanner(fleet);
  const progress = reportProgress(fleet);
  void settled.then(() => {
    clearInterval(progress);
    const failed = fleet.table.all().filter((d) => d.state === 'failed');
    if (failed.length) log.error(`${failed.length} deployment(s) failed: ${failed.map((d) => d.key).join(', ')} (see above; fix models.yaml and save, or send SIGHUP to retry)`);
    else log.info(`all ${fleet.table.all().length} deployment(s) ready`);
  });
  handleSignals(fleet);
}

function printBanner(fleet: Fleet): void {
  const rows = fleet.table.all().map((d) => [`/${d.key}`, d.spec.modelId, d.spec.gpus.join(','), d.spec.runtime, d.state]);
  console.log('');
  console.log(`VALID_TOKEN=${fleet.tokens.token}`);
  console.log('');
  console.log(renderTable(['ROUTE', 'MODEL ID', 'GPUS', 'RUNTIME', 'STATE'], rows));
  console.log('');
  const first = fleet.table.all()[0];
  console.log(`Gateway listening on http://localhost:${fleet.port} (token above; \`npm run token\` prints it again).`);
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

function handleSignals(fleet: Fleet): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting without waiting for in-flight requests`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: no new requests; draining in-flight requests (up to ${formatDuration(fleet.settings.drainTimeoutMs)})`);
    await fleet.shutdown();
    if (fleet.usesDocker) log.info('stopped; the TGI containers keep running (the next `npm run up` adopts them); `npm run down` removes them');
    else log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void fleet.reload('SIGHUP'));
}
