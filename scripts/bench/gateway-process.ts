import { EventEmitter } from 'node:events';
import { createGateway } from '../../gateway/server.ts';
import { resolveGateway, resolveModel, toDeployments } from '../../orchestrator/config/expand.ts';
import type { RawModel } from '../../orchestrator/config/schema.ts';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { log } from '../../orchestrator/log.ts';
import { KeyStore, keysPath } from '../../orchestrator/keys.ts';
import { TokenStore } from '../../orchestrator/token.ts';
import { StubDeployment } from '../../test/helpers/served-deployment.ts';
import type { FromGateway, GatewayProcessConfig, ToGateway } from './gateway.ts';

// Child process (forked by gateway.ts): the gateway built as `up` builds it — auth, metrics and rate
// limiting on, the limits sized out of the way — over deployments that are already ready and point
// at the bench's simulators. The bench measures the gateway (data plane), so the deployments are
// StubDeployments (the control plane's test double) set ready, not supervisors running a server.
// Answers memory requests over IPC.

const config = JSON.parse(process.env.BENCH_GATEWAY_CONFIG ?? 'null') as GatewayProcessConfig | null;
if (!config) throw new Error('gateway-process.ts is started by scripts/bench/gateway.ts, which passes BENCH_GATEWAY_CONFIG');

const settings = resolveGateway({
  host: '127.0.0.1',
  rate_limit: { requests_per_second: 1e9, burst: 1e9 },
  max_concurrent_requests: 20_000,
  ...config.gateway,
});

const table = new DeploymentTable<StubDeployment>();
config.deployments.forEach(({ model, upstream, limits }, index) => {
  const raw: RawModel = { name: model, model_id: `bench/${model}`, gpus: [0], runtime: 'simulator', ...(limits && { limits }) };
  const [spec] = toDeployments(resolveModel(raw, index, null, settings), [[0]], config.stateDir);
  const deployment = new StubDeployment(spec, { upstream });
  table.add(deployment);
  deployment.becomeReady();
});
table.synced = true;

const gateway = createGateway({
  table,
  settings: () => settings,
  tokens: await TokenStore.open(config.stateDir, config.token),
  keys: await KeyStore.open(keysPath(config.stateDir), (message) => log.error(message)),
  gpus: () => [],
  events: new EventEmitter(),
  log,
});
const port = await gateway.listen(0, settings.host);

const reply = (message: FromGateway) => process.send!(message);
process.on('message', async (message: ToGateway) => {
  if (message.type === 'memory') {
    globalThis.gc?.();
    reply({ type: 'memory', usage: process.memoryUsage() });
  } else if (message.type === 'exit') {
    setTimeout(() => process.exit(0), 2000).unref();
    await gateway.close(0);
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'listening', port });
