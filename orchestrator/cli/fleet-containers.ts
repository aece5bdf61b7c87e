/** A container of one fleet, as Docker's container list shows it. */
export interface FleetContainer {
  id: string;
  /** Deployment key ("<model>/<gpuLabel>"), from its label. */
  key: string;
  name: string;
  /** Host GPU indices, as labelled: "0" or "0,1". */
  gpus: string;
  hostPort?: number;
  /** Docker's own words: "Up 5 minutes", "Restarting (1) 3 seconds ago", "Exited (137) 1 minute ago". */
  status: string;
  /** ms since epoch. */
  createdAt: number;
}

/** The TGI containers of one fleet; none when Docker is not reachable (a simulator fleet needs none). */
export async function fleetContainers(fleet: string): Promise<FleetContainer[]> {
  try {
    // Loaded on demand: status and logs of a simulator fleet need neither dockerode nor an engine.
    const { dockerClient } = await import('../runtime/docker/client.ts');
    const { LABEL, fleetLabelFilters } = await import('../runtime/docker/labels.ts');
    const containers = await dockerClient().listContainers({ all: true, filters: { label: fleetLabelFilters(fleet) } });
    return containers.map((c) => ({
      id: c.Id,
      key: c.Labels[LABEL.deployment] ?? '',
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      gpus: c.Labels[LABEL.gpus] ?? '',
      // A container publishes only its engine's port (80 TGI, 8000 vLLM, 30000 SGLang), on 127.0.0.1.
      hostPort: c.Ports.find((p) => p.IP === '127.0.0.1' && p.PublicPort)?.PublicPort,
      status: c.Status,
      createdAt: c.Created * 1000,
    }));
  } catch {
    return [];
  }
}
