import { resolve } from 'node:path';
import { formatIssues, rejectionHeadline } from '../config/load.ts';
import { loadFleetConfig } from '../load-fleet-config.ts';
import { renderTable } from './table.ts';

/** Checks models.yaml as `up` would (GPU inventory included) and prints the deployments it means. */
export async function validate(options: { config: string }): Promise<number> {
  const file = resolve(options.config);
  const loaded = await loadFleetConfig(file);
  if (!loaded.ok) {
    console.error(`${rejectionHeadline(options.config, loaded.issues)}:\n${formatIssues(loaded.issues)}`);
    return 1;
  }
  const rows = loaded.config.deployments.map((d) => [`/${d.key}`, d.modelId, d.gpus.join(','), d.runtime, d.runtime === 'docker' ? d.image : '']);
  console.log(renderTable(['ROUTE', 'MODEL ID', 'GPUS', 'RUNTIME', 'IMAGE'], rows));
  console.log(`\n${options.config} is valid: ${loaded.config.deployments.length} deployment(s), fleet "${loaded.config.fleet}".`);
  return 0;
}
