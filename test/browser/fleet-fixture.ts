import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { log } from '../../orchestrator/log.ts';
import type { GatewayOptions, GatewaySettings, GpuInfo } from '../../gateway/types.ts';
import type { StubDeployment } from '../helpers/served-deployment.ts';

// A small in-process fleet for testing the dashboard's and the service discovery's handlers over real
// HTTP: a real DeploymentTable of StubDeployments and event emitter, with the handlers mounted in a
// plain Express app.

const limits = { requestsPerSecond: 10, burst: 25, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 0 };

export function spec(key: string, extra: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const [model, gpuLabel] = key.split('/');
  return {
    key, model, gpuLabel, gpus: gpuLabel.slice(3).split('-').map(Number), modelId: `org/${model}`, runtime: 'simulator', accelerator: 'nvidia', vision: false,
    image: 'tgi-sim:local', pull: 'never', shmSizeBytes: 1 << 30, env: { HF_TOKEN: 'hf_secret_never_shown' }, launcher: {}, simulator: { loadSeconds: 0, tokensPerSecond: 0 },
    limits, hfCache: '/tmp/hf', loadTimeoutMs: 30 * 60_000, ...extra,
  };
}

/** The gateway's options over a DeploymentTable the test fills (and marks synced, as the first reconcile would). */
export function fleetOptions(gpus: GpuInfo[] = []): GatewayOptions & { table: DeploymentTable<StubDeployment> } {
  const table = new DeploymentTable<StubDeployment>();
  table.synced = true;
  return {
    table,
    settings: () => ({ port: 0, host: '127.0.0.1', limits, metricsAuth: true, maxBodyBytes: 8 << 20, drainTimeoutMs: 1000, tokenGraceMs: 1000, authLockout: { failures: 10, windowMs: 60_000, lockoutMs: 60_000 }, trustedProxies: [], maxConnectionsPerClient: 0 }) satisfies GatewaySettings,
    tokens: undefined as never, // the handlers under test run behind the gateway's auth and never read it
    gpus: () => gpus,
    events: new EventEmitter(),
    log,
  };
}

export async function serve(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
