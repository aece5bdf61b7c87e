import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { gatewayErrorMessage, http, rawRequest, startGateway, type GatewayFixture } from './fixture.ts';

// The request line as clients (and attackers) send it: absolute-form targets are routed by their
// path, never towards the host they name; a method a route does not take is a 405 with Allow.

describe('gateway request targets in absolute form', () => {
  let sim: SimProcess;
  let recorder: Server;
  const seen: Array<{ url?: string; host?: string }> = [];
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim();
    // An upstream that records the target and Host it is sent (the simulator cannot show them).
    recorder = createServer((req, res) => {
      seen.push({ url: req.url, host: req.headers.host });
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"generated_text":"ok"}');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const port = (recorder.address() as AddressInfo).port;
    gw = await startGateway({
      deployments: [
        { model: 'hermes', upstream: sim.upstream },
        { model: 'echo', upstream: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
    await new Promise((resolve) => recorder?.close(resolve));
  });

  const absolute = (method: string, target: string, body?: object) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers = [`${method} ${target} HTTP/1.1`, 'Host: evil.example', `Authorization: Bearer ${gw.token}`, 'Connection: close'];
    if (body !== undefined) headers.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`);
    return rawRequest(gw.port, `${headers.join('\r\n')}\r\n\r\n${text}`);
  };
  const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

  test('a deployment route in absolute form is served by its path; the host in the target is ignored', async () => {
    const res = await absolute('POST', 'http://evil.example/hermes/gpu0/generate', { inputs: 'Hi', parameters: { max_new_tokens: 2 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof bodyOf(res.text).generated_text, 'string');
    assert.equal((await absolute('GET', 'http://evil.example/hermes/gpu0/info?x=1')).status, 200);
    assert.equal((await absolute('GET', 'HTTPS://Evil.Example:8443/hermes/info')).status, 200, 'any scheme and port, any case');
  });

  test('the upstream gets the path in origin form and its own Host, never the host of the target', async () => {
    seen.length = 0;
    assert.equal((await absolute('POST', 'http://evil.example/echo/gpu0/generate', { inputs: 'Hi' })).status, 200);
    assert.equal((await absolute('POST', 'http://evil.example/echo/gpu0/tokenize?x=1', { inputs: 'Hi' })).status, 200);
    assert.equal((await absolute('POST', 'http://evil.example/v1/completions', { model: 'echo', prompt: 'Hi' })).status, 200, 'root OpenAI route');
    assert.deepEqual(seen.map((s) => s.url), ['/generate', '/tokenize?x=1', '/v1/completions']);
    for (const { host } of seen) assert.equal(host, `127.0.0.1:${gw.deployment('echo/gpu0').upstream!.port}`);
  });

  test("the gateway's own routes answer in absolute form as in origin form", async () => {
    assert.equal(bodyOf((await absolute('GET', 'http://evil.example/info')).text).deployments.length, 2);
    assert.equal(bodyOf((await absolute('GET', 'http://evil.example/v1/models')).text).object, 'list');
    assert.equal((await absolute('GET', 'http://evil.example/health')).status, 200);
    const missing = await absolute('GET', 'http://evil.example/nowhere');
    assert.equal(missing.status, 404);
    assert.match(bodyOf(missing.text).error.message, /no route GET \/nowhere\./);
  });

  test('absolute form needs the token like any request', async () => {
    const res = await rawRequest(gw.port, 'GET http://evil.example/hermes/gpu0/info HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 401);
  });
});

describe('gateway methods', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim();
    gw = await startGateway({ deployments: [{ model: 'hermes', upstream: sim.upstream }] });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  const call = (method: string, path: string, token: string | null = gw.token) => http(gw.url + path, { method, token: token ?? undefined, body: method === 'GET' || method === 'HEAD' ? undefined : { inputs: 'Hi' } });

  test("GET on a deployment's POST routes is a 405 with Allow: POST", async () => {
    for (const route of ['/hermes/gpu0', '/hermes']) {
      for (const endpoint of ['/generate', '/generate_stream', '/v1/chat/completions', '/v1/completions', '/tokenize']) {
        const res = await call('GET', route + endpoint);
        assert.match(gatewayErrorMessage(res, 405), new RegExp(`GET is not allowed on ${route}${endpoint}: it takes POST`), route + endpoint);
        assert.equal(res.json().error.type, 'method_not_allowed');
        assert.equal(res.headers.allow, 'POST', route + endpoint);
      }
    }
    assert.equal(gw.deployment('hermes/gpu0').inFlight, 0);
    assert.deepEqual({ status: gw.records.at(-1)?.status, refusedBy: gw.records.at(-1)?.refusedBy }, { status: 405, refusedBy: 'method_not_allowed' });
  });

  test("POST on a deployment's GET routes is a 405 with Allow: GET, HEAD", async () => {
    for (const endpoint of ['/info', '/health', '/metrics', '/v1/models']) {
      const res = await call('POST', `/hermes/gpu0${endpoint}`);
      assert.match(gatewayErrorMessage(res, 405), /POST is not allowed on \/hermes\/gpu0\/\S+: it takes GET, HEAD/, endpoint);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
    assert.equal((await call('DELETE', '/hermes/gpu0/generate')).headers.allow, 'POST');
    assert.equal((await call('HEAD', '/hermes/gpu0/info')).status, 200, 'HEAD is served where GET is');
  });

  test("POST on the gateway's own GET routes, and GET on its POST routes, are 405s with Allow", async () => {
    for (const path of ['/info', '/health', '/metrics', '/v1/models', '/prometheus/targets']) {
      const res = await call('POST', path);
      assert.match(gatewayErrorMessage(res, 405), new RegExp(`POST is not allowed on ${path}: it takes GET, HEAD`), path);
      assert.equal(res.headers.allow, 'GET, HEAD', path);
    }
    for (const path of ['/v1/chat/completions', '/v1/completions']) {
      const res = await call('GET', path);
      assert.match(gatewayErrorMessage(res, 405), new RegExp(`GET is not allowed on ${path}: it takes POST`), path);
      assert.equal(res.headers.allow, 'POST', path);
    }
  });

  test('routes behind the token still want it first; /health, which needs none, answers 405 without it', async () => {
    assert.equal((await call('GET', '/hermes/gpu0/generate', null)).status, 401);
    assert.equal((await call('POST', '/info', null)).status, 401);
    const health = await call('POST', '/health', null);
    assert.equal(health.status, 405);
    assert.equal(health.headers.allow, 'GET, HEAD');
  });

  test('the right methods still work', async () => {
    assert.equal((await call('POST', '/hermes/gpu0/generate')).status, 200);
    assert.equal((await call('GET', '/hermes/gpu0/info')).status, 200);
    assert.equal((await call('GET', '/info')).status, 200);
    assert.equal((await call('GET', '/health')).status, 200);
  });
});
