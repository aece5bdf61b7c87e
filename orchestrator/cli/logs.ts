import { join } from 'node:path';
import { followFile } from '../runtime/follow-file.ts';
import { localLogFile } from '../runtime/process-runtime.ts';
import { stateDirOf } from './options.ts';

/** A deployment's server log: its container's (docker) or its log file in the state dir (simulator, process). */
export async function logs(deployment: string, options: { follow?: boolean; tail: number; stateDir?: string }): Promise<number> {
  const key = deployment.replace(/^\//, '');
  if (!/^[^/]+\/gpu[\d-]+$/.test(key)) {
    console.error(`"${deployment}" is not a deployment: use <model>/gpu<N>, e.g. hermes-2-pro-tgi/gpu0 (see \`npm run status\`)`);
    return 1;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const lines = (await containerLines(key, options, abort.signal)) ?? followFile(localLogFile(join(stateDirOf(options.stateDir), 'logs'), key), { follow: Boolean(options.follow), tail: options.tail, signal: abort.signal });
  try {
    for await (const line of lines) console.log(line);
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  return 0;
}

async function containerLines(key: string, options: { follow?: boolean; tail: number }, signal: AbortSignal): Promise<AsyncIterable<string> | undefined> {
  try {
    const { dockerClient, pingDocker } = await import('../runtime/docker/client.ts');
    await pingDocker();
    const { DockerRuntime } = await import('../runtime/docker/docker-runtime.ts');
    const instance = (await new DockerRuntime().discover()).find((i) => i.key === key);
    if (!instance) return undefined;
    const { containerLogLines } = await import('../runtime/docker/container-logs.ts');
    return containerLogLines(dockerClient().getContainer(instance.id), { follow: Boolean(options.follow), tail: options.tail, signal });
  } catch {
    return undefined;
  }
}
