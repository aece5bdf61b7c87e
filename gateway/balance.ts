import type { ServedDeployment } from './types.ts';

/**
 * Least in flight among the ready replicas. The scan starts one replica further on every call, so
 * replicas that tie (the usual case at low load) take turns instead of the first one taking all.
 */
export class LeastInFlight {
  private turn = 0;

  pick(replicas: readonly ServedDeployment[]): ServedDeployment | undefined {
    const count = replicas.length;
    const start = this.turn++ % (count || 1);
    let best: ServedDeployment | undefined;
    for (let i = 0; i < count; i++) {
      const d = replicas[(start + i) % count];
      if (d.isReady && (!best || d.inFlight < best.inFlight)) best = d;
    }
    return best;
  }
}
