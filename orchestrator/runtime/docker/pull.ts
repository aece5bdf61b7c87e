import type Dockerode from 'dockerode';
import type { PullPolicy } from '../../config/types.ts';
import { dockerMessage, dockerStatus, dockerStep } from './client.ts';
import { reportPull, type PullEvent, type PullReporter } from './pull-progress.ts';
import { registryAuth } from './registry-auth.ts';

/** Makes images present per a deployment's pull policy; deployments needing the same image share one pull. */
export class ImagePuller {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly docker: Dockerode) {}

  /** Resolves once `image` is present. Calls onPull just before a pull starts (not when none is needed). */
  async ensure(image: string, policy: PullPolicy, onPull: () => void): Promise<void> {
    if (policy !== 'always' && (await this.isPresent(image))) return;
    if (policy === 'never') {
      throw new Error(`image ${image} is not on the Docker engine and pull: never forbids pulling it — build or load it there first (docker build / docker load / docker pull ${image}), or set pull: missing`);
    }
    onPull();
    let pending = this.inFlight.get(image);
    if (!pending) {
      pending = this.pull(image).finally(() => this.inFlight.delete(image));
      this.inFlight.set(image, pending);
    }
    await pending;
  }

  private async isPresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (dockerStatus(error) === 404) return false;
      throw error;
    }
  }

  private async pull(image: string): Promise<void> {
    const authconfig = await registryAuth(image);
    const reporter = reportPull(image);
    try {
      const stream = await dockerStep(`pulling image ${image}`, () => this.docker.pull(image, authconfig ? { authconfig } : {}));
      await followPull(stream, reporter);
      reporter.finish();
    } catch (error) {
      reporter.finish(new Error(dockerMessage(error)));
      throw new Error(`pulling image ${image} failed: ${dockerMessage(error)}`, { cause: error });
    }
  }
}

/** Reads the pull's progress stream to its end; the daemon reports a failed pull inside it as {"error": …}. */
async function followPull(stream: NodeJS.ReadableStream, reporter: PullReporter): Promise<void> {
  let pending = '';
  let failure: string | undefined;
  for await (const chunk of stream) {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let event: PullEvent;
      try {
        event = JSON.parse(line) as PullEvent;
      } catch {
        continue;
      }
      if (event.error) failure = event.error;
      else reporter.update(event);
    }
  }
  if (failure) throw new Error(failure);
}
