import { memoryShareFlag } from './engines.ts';
import type { ResolvedModel } from './expand.ts';
import { formatPath, type Path, type Problem } from './problem.ts';
import type { DeploymentSpec, GpuInfo } from './types.ts';

// Which GPUs each replica runs on, and whether that is possible on this host:
// - `gpus: [0, 1]` one replica per entry; `[[0, 1]]` one replica sharded over 0 and 1; a GPU at most once per model;
// - `gpus: auto` + `replicas: N`: the N GPUs with the most free memory that no other deployment uses
//   (a simulator, which needs no GPU, takes 0..N-1);
// - docker/process deployments, given the host's inventory: every GPU must exist;
// - docker/process deployments share a GPU only when each sets cuda_memory_fraction and they sum to ≤ 1
//   (checked with or without an inventory: the indices are the host's either way). Simulators share freely.

/** A deployment running now, as far as placement cares. */
export type RunningPlacement = Pick<DeploymentSpec, 'model' | 'gpus'>;

export interface Placement {
  /** Per model index: each replica's GPUs, sorted. Absent for a model that could not be placed. */
  replicaGpus: Map<number, number[][]>;
  errors: Problem[];
}

interface Use {
  model: ResolvedModel;
  gpu: number;
  path: Path;
}

const usesGpus = (model: ResolvedModel) => model.runtime !== 'simulator';

export function placeReplicas(models: readonly ResolvedModel[], inventory: readonly GpuInfo[] | undefined, running: readonly RunningPlacement[] = []): Placement {
  const placement: Placement = { replicaGpus: new Map(), errors: [] };
  const uses: Use[] = [];
  // A model whose runtime or replicas could not be read is not placed: where it goes depends on them.
  const placeable = models.filter((m) => !m.uncertain.has('runtime') && !m.uncertain.has('replicas'));
  for (const model of placeable) {
    if (model.raw.gpus !== 'auto') placeListed(model, model.raw.gpus, inventory, placement, uses);
  }
  for (const model of placeable) {
    if (model.raw.gpus === 'auto') placeAuto(model, inventory, running, placement, uses);
  }
  checkSharing(uses, placement.errors);
  return placement;
}

function placeListed(model: ResolvedModel, entries: (number | number[])[], inventory: readonly GpuInfo[] | undefined, placement: Placement, uses: Use[]): void {
  const base = ['models', model.index, 'gpus'];
  if (model.raw.replicas !== undefined) {
    placement.errors.push({
      path: ['models', model.index, 'replicas'],
      message: '`replicas` goes with `gpus: auto`; with a list of GPUs there is one replica per entry',
      hint: 'remove `replicas`, or write `gpus: auto` to let the orchestrator pick the GPUs',
    });
  }
  const seen = new Map<number, Path>();
  const replicas = entries.map((entry, j) => {
    const members = Array.isArray(entry) ? entry.map((gpu, k) => ({ gpu, path: [...base, j, k] })) : [{ gpu: entry, path: [...base, j] }];
    for (const { gpu, path } of members) {
      const earlier = seen.get(gpu);
      if (earlier) {
        placement.errors.push({
          path,
          message: `GPU ${gpu} is used twice by this model (also at ${formatPath(earlier)})`,
          hint: 'each GPU serves one replica of a model: [0, 1] is two replicas, [[0, 1]] one replica sharded over GPUs 0 and 1',
        });
        continue;
      }
      seen.set(gpu, path);
      if (usesGpus(model)) {
        uses.push({ model, gpu, path });
        if (inventory && !inventory.some((g) => g.index === gpu)) {
          placement.errors.push({ path, kind: 'host', message: `GPU ${gpu} does not exist (${hostGpus(inventory)})`, hint: 'indices are those of `nvidia-smi -L`' });
        }
      }
    }
    return [...new Set(members.map((m) => m.gpu))].sort((a, b) => a - b);
  });
  placement.replicaGpus.set(model.index, replicas);
}

function placeAuto(model: ResolvedModel, inventory: readonly GpuInfo[] | undefined, running: readonly RunningPlacement[], placement: Placement, uses: Use[]): void {
  const path = ['models', model.index, 'gpus'];
  const count = model.raw.replicas;
  if (count === undefined) {
    placement.errors.push({ path, message: '`gpus: auto` needs `replicas: N`, the number of GPUs to pick', hint: 'add e.g. `replicas: 2` to this model' });
    return;
  }
  if (!usesGpus(model)) {
    placement.replicaGpus.set(model.index, Array.from({ length: count }, (_, i) => [i]));
    return;
  }
  if (!inventory) {
    placement.errors.push({ path, kind: 'host', message: '`gpus: auto` needs the GPU inventory from nvidia-smi, which is not available', hint: 'list the GPUs instead, e.g. `gpus: [0, 1]`' });
    return;
  }
  const taken = new Set(uses.map((u) => u.gpu));
  const free = inventory.filter((g) => !taken.has(g.index));
  const chosen = keptRunning(model, count, free, running) ?? mostFreeMemory(free, count);
  if (chosen.length < count) {
    const takenList = [...taken].sort((a, b) => a - b);
    placement.errors.push({
      path,
      kind: 'host',
      message: `\`gpus: auto\` needs ${count} unused GPU${count === 1 ? '' : 's'} but ${free.length === 0 ? 'none is' : `only ${free.length} ${free.length === 1 ? 'is' : 'are'}`} left (${hostGpus(inventory)}${takenList.length ? `; ${gpuList(takenList)} taken by other deployments` : ''})`,
      hint: 'lower `replicas`, or list GPUs explicitly (deployments can share a GPU when each sets cuda_memory_fraction)',
    });
    return;
  }
  for (const gpu of chosen) uses.push({ model, gpu, path });
  placement.replicaGpus.set(model.index, chosen.map((gpu) => [gpu]));
}

/**
 * The GPUs this model already runs on, if still free: auto must not move running replicas (their own
 * memory use makes their GPUs look the busiest).
 */
function keptRunning(model: ResolvedModel, count: number, free: readonly GpuInfo[], running: readonly RunningPlacement[]): number[] | undefined {
  const earlier = running.filter((d) => d.model === model.name);
  if (earlier.length !== count || earlier.some((d) => d.gpus.length !== 1 || !free.some((g) => g.index === d.gpus[0]))) return undefined;
  return earlier.map((d) => d.gpus[0]).sort((a, b) => a - b);
}

function mostFreeMemory(candidates: readonly GpuInfo[], count: number): number[] {
  const freeMiB = (g: GpuInfo) => g.memoryTotalMiB - g.memoryUsedMiB;
  return [...candidates]
    .sort((a, b) => freeMiB(b) - freeMiB(a) || a.index - b.index)
    .slice(0, count)
    .map((g) => g.index)
    .sort((a, b) => a - b);
}

function checkSharing(uses: readonly Use[], errors: Problem[]): void {
  const byGpu = new Map<number, Use[]>();
  for (const use of uses) byGpu.set(use.gpu, [...(byGpu.get(use.gpu) ?? []), use]);
  for (const [gpu, sharing] of [...byGpu].sort(([a], [b]) => a - b)) {
    if (sharing.length < 2 || sharing.some((u) => u.model.uncertain.has('cuda_memory_fraction'))) continue;
    const last = sharing.at(-1)!;
    const names = sharing.map((u) => `\`${u.model.name}\``).join(' and ');
    const fraction = (u: Use) => u.model.launcher[memoryShareFlag(u.model.engine)];
    const unset = sharing.filter((u) => typeof fraction(u) !== 'number');
    if (unset.length) {
      errors.push({
        path: last.path,
        message: `GPU ${gpu} is used by ${names}; deployments may share a GPU only when each sets cuda_memory_fraction (not set on ${unset.map((u) => `\`${u.model.name}\``).join(', ')})`,
        hint: 'give each its own GPU, or set cuda_memory_fraction on each (e.g. 0.5) so they sum to at most 1',
      });
      continue;
    }
    const total = sharing.reduce((sum, u) => sum + (fraction(u) as number), 0);
    if (total > 1 + 1e-9) {
      errors.push({
        path: last.path,
        message: `GPU ${gpu} is used by ${names} whose cuda_memory_fraction values sum to ${Number(total.toFixed(4))} (${sharing.map((u) => fraction(u)).join(' + ')}), more than the whole GPU`,
        hint: 'lower the fractions so they sum to at most 1, or give one of them another GPU',
      });
    }
  }
}

function hostGpus(inventory: readonly GpuInfo[]): string {
  return inventory.length ? `this host has GPU${inventory.length === 1 ? '' : 's'} ${gpuList(inventory.map((g) => g.index))}` : 'this host has no GPUs';
}

/** [0, 1, 2, 3, 6] → "0-3, 6". */
function gpuList(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j;
  }
  return ranges.join(', ');
}
