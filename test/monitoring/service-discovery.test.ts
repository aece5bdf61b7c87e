import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import { prometheusTargets, type TargetGroup } from '../../gateway/prometheus-sd.ts';
import { fleetOptions, serve, spec } from '../browser/fleet-fixture.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';

// GET /prometheus/targets over real HTTP with a real DeploymentTable (of StubDeployments, whose state
// the test sets): Prometheus HTTP SD JSON.

const options = fleetOptions();
let server: Awaited<ReturnType<typeof serve>>;

before(async () => {
  const app = express();
  app.get('/prometheus/targets', prometheusTargets(options));
  server = await serve(app);
});
after(() => server.close());

// node:http rather than fetch, which does not let a caller set the Host header.
const targets = (host?: string) =>
  new Promise<TargetGroup[]>((resolve, reject) => {
    const req = http.get(`${server.url}/prometheus/targets`, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        try {
          assert.equal(res.statusCode, 200);
          assert.match(res.headers['content-type']!, /^application\/json/);
          resolve(JSON.parse(body) as TargetGroup[]);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
  });

test('no deployments: an empty list, which Prometheus accepts', async () => {
  assert.deepEqual(await targets(), []);
});

test('one group per deployment, addressed to the gateway as the scraper reached it, with model, gpu and engine labels', async () => {
  const ready = new StubDeployment(spec('hermes-2-pro-tgi/gpu0', { modelId: 'NousResearch/Hermes-2-Pro-Llama-3-8B' }));
  const loading = new StubDeployment(spec('big/gpu1-2', { engine: 'vllm' }));
  const leaving = new StubDeployment(spec('old/gpu3'));
  for (const d of [ready, loading, leaving]) options.table.add(d);
  ready.setState('ready');
  loading.setState('loading');
  leaving.setState('draining');

  const groups = await targets('gateway.example:8000');
  assert.deepEqual(groups, [
    {
      targets: ['gateway.example:8000'],
      labels: { __scheme__: 'http', __metrics_path__: '/hermes-2-pro-tgi/gpu0/metrics', model: 'hermes-2-pro-tgi', gpu: 'gpu0', model_id: 'NousResearch/Hermes-2-Pro-Llama-3-8B', engine: 'tgi' },
    },
    {
      targets: ['gateway.example:8000'],
      labels: { __scheme__: 'http', __metrics_path__: '/big/gpu1-2/metrics', model: 'big', gpu: 'gpu1-2', model_id: 'org/big', engine: 'vllm' },
    },
  ], 'a loading deployment is listed (its target shows down until ready); a draining one is not; no engine in the spec is tgi');

  options.table.remove(ready);
  const after = await targets();
  assert.deepEqual(after.map((g) => g.labels.gpu), ['gpu1-2']);
  assert.equal(after[0].targets[0], new URL(server.url).host);
});
