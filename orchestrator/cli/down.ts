import { DockerRuntime } from '../runtime/docker/docker-runtime.ts';
import { pingDocker } from '../runtime/docker/client.ts';

/** Stops (gracefully: TGI may drain up to 90 s) and removes every container of this fleet. */
export async function down(): Promise<number> {
  try {
    await pingDocker();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const runtime = new DockerRuntime();
  const instances = await runtime.discover();
  if (!instances.length) {
    console.log('no TGI containers of this project to remove');
    return 0;
  }
  console.log(`stopping ${instances.length} container(s) (TGI drains in-flight requests for up to 90 s)…`);
  await Promise.all(instances.map(async (instance) => {
    await runtime.removeInstance(instance);
    console.log(`removed ${instance.name} (${instance.key})`);
  }));
  await runtime.close();
  return 0;
}
