import assert from 'node:assert/strict';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../orchestrator/net.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, makeDeployment, simBatchSize, startGateway, type GatewayFixture } from './fixture.ts';
import { dataEvents } from './sse.ts';

// The gateway's own errors (one body shape, code = status), and TGI's passed through unchanged.

describe('gateway errors', () => {
  let sim: SimProcess;
  let hanging: SimProcess;
  let gw: GatewayFixture;
  const MAX_BODY = 4096;

  before(async () => {
    [sim, hanging] = await Promise.all([startSim({ args: ['--max-total-tokens', '64'] }), startSim({ env: { SIM_HANG: '1' } })]);
    const closedPort = await freePort();
    gw = await startGateway({
      deployments: [
        { model: 'hermes', upstream: sim.upstream },
        { model: 'gone', upstream: { host: '127.0.0.1', port: closedPort, url: `http://127.0.0.1:${closedPort}` } },
        { model: 'stuck', upstream: hanging.upstream, limits: { requestTimeoutMs: 300 } },
      ],
      settings: { maxBodyBytes: MAX_BODY },
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([sim?.stop(), hanging?.stop()]);
  });

  const send = (path: string, body: string | object, headers?: Record<string, string>) => http(gw.url + path, { token: gw.token, body, headers });

  test('malformed JSON on a route the gateway reads is a 400', async () => {
    for (const path of ['/hermes/gpu0/generate', '/hermes/gpu0/generate_stream', '/v1/chat/completions']) {
      const res = await send(path, '{"inputs": "unterminated');
      assert.match(gatewayErrorMessage(res, 400), /the request body is not valid JSON/, path);
      assert.equal(res.json().error.type, 'invalid_request_error');
    }
    assert.match(gatewayErrorMessage(await send('/hermes/gpu0/generate', '[1, 2]'), 400), /must be a JSON object/);
    assert.match(gatewayErrorMessage(await send('/hermes/gpu0/generate', { parameters: {} }), 400), /needs `inputs`, a string/);
    assert.equal(gw.records.at(-1)?.refusedBy, 'bad_request');
    assert.equal(gw.deployment('hermes/gpu0').inFlight, 0);
  });

  test('a body over max_body_size is a 413, declared or streamed', async () => {
    const big = JSON.stringify({ inputs: 'x'.repeat(MAX_BODY), model: 'hermes' });
    for (const path of ['/hermes/gpu0/generate', '/hermes/gpu0/v1/chat/completions', '/v1/chat/completions']) {
      const res = await send(path, big);
      assert.match(gatewayErrorMessage(res, 413), /larger than 4096 bytes \(gateway\.max_body_size in models\.yaml\)/, path);
      assert.equal(res.json().error.type, 'request_too_large');
    }
    for (const path of ['/hermes/gpu0/generate', '/hermes/gpu0/v1/chat/completions']) {
      const res = await chunkedPost(path, big);
      assert.equal(res.status, 413, `${path} (chunked): ${res.text}`);
    }
    await eventually(() => gw.deployment('hermes/gpu0').inFlight === 0, 'no request left in flight');
  });

  test('errors from TGI pass through unchanged', async () => {
    const res = await send('/hermes/gpu0/generate', { inputs: 'Hello', parameters: { max_new_tokens: 500 } });
    assert.equal(res.status, 422);
    const body = res.json();
    assert.equal(body.error_type, 'validation');
    assert.match(body.error, /must be <= 64/);
    assert.equal(gw.records.at(-1)?.status, 422);
  });

  test('an upstream that refuses connections is a 502 naming the deployment', async () => {
    const res = await send('/gone/gpu0/generate', { inputs: 'Hi' });
    const message = gatewayErrorMessage(res, 502);
    assert.match(message, /gone\/gpu0 \(http:\/\/127\.0\.0\.1:\d+\) failed: ECONNREFUSED/);
    assert.equal(res.json().error.type, 'upstream_error');
    assert.equal(gw.records.at(-1)?.status, 502);
    assert.equal(gw.deployment('gone/gpu0').inFlight, 0);
  });

  test('an upstream that speaks broken HTTP is a 502, and the gateway keeps serving', async () => {
    for (const [reply, pattern] of [
      ['NOT HTTP\r\n\r\n', /failed: Response does not match the HTTP\/1\.1 protocol \(Expected HTTP\/.*\); its answer is not valid HTTP/],
      ['HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\nok', /answered with status 0, which is not valid HTTP/],
    ] as const) {
      const upstream = createNetServer((socket) => socket.once('data', () => socket.end(reply)));
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const port = (upstream.address() as AddressInfo).port;
      const d = makeDeployment({ model: 'broken', upstream: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } });
      gw.table.add(d);
      try {
        assert.match(gatewayErrorMessage(await http(`${gw.url}/broken/gpu0/info`, { token: gw.token }), 502), pattern);
      } finally {
        gw.table.remove(d);
        upstream.close();
      }
    }
    assert.equal((await send('/hermes/gpu0/generate', { inputs: 'still here' })).status, 200);
  });

  test('an upstream that does not answer within request_timeout is a 504, and the upstream request is cancelled', async () => {
    const res = await send('/stuck/gpu0/generate', { inputs: 'Hi', parameters: { max_new_tokens: 3 } });
    assert.match(gatewayErrorMessage(res, 504), /stuck\/gpu0 did not answer within 0\.3 s \(request_timeout\)/);
    assert.equal(res.json().error.type, 'timeout_error');
    assert.equal(gw.records.at(-1)?.status, 504);
    await eventually(async () => (await simBatchSize(hanging)) === 0, 'the simulator to drop the cancelled request');
  });

  test('a plain answer whose body stalls past request_timeout is cut off, and what the upstream sends later is dropped', async () => {
    // Status line, headers and the first bytes at once; the rest of the body only after the timeout.
    const upstream = createNetServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"generated');
        setTimeout(() => socket.end('_text":"x"}'), 600);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    const d = makeDeployment({ model: 'trickle', upstream: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` }, limits: { requestTimeoutMs: 300 } });
    gw.table.add(d);
    try {
      await assert.rejects(send('/trickle/gpu0/generate', { inputs: 'Hi' }), /aborted|socket hang up|ECONNRESET/);
      await eventually(async () => gw.records.at(-1)?.status === 504, 'the request to be recorded as a 504');
      await new Promise((resolve) => setTimeout(resolve, 500)); // the upstream's late bytes arrive
      assert.equal((await send('/hermes/gpu0/generate', { inputs: 'still here' })).status, 200);
    } finally {
      gw.table.remove(d);
      upstream.close();
    }
  });

  test('a stream with no event for request_timeout ends with an error event in TGI\'s format', async () => {
    const generate = await send('/stuck/gpu0/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 3 } });
    assert.equal(generate.status, 200);
    const [event] = dataEvents(generate.text).map((e) => JSON.parse(e));
    assert.equal(event.error_type, 'incomplete_generation');
    assert.match(event.error, /no event from stuck\/gpu0 for 0\.3 s/);
    assert.equal(gw.records.at(-1)?.status, 504);

    const chat = await send('/stuck/gpu0/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const events = dataEvents(chat.text);
    assert.equal(events.at(-1), '[DONE]');
    const error = JSON.parse(events[0]).error;
    assert.equal(error.http_status_code, 504);
    assert.match(error.message, /no event from stuck\/gpu0/);
  });

  test('garbage requests get an answer and the gateway keeps serving', async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    for (const path of ['//', '/%zz/gpu0/generate', `/${'a'.repeat(4000)}`, '/hermes/gpu0/../../info', '/hermes/gpu0%2Fgenerate']) {
      const res = await send(path, { inputs: 'x' });
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
    }
    assert.equal((await send('/hermes/gpu0/generate', { inputs: 'still here' })).status, 200);
  });

  /** POSTs the body with Transfer-Encoding: chunked (no Content-Length). */
  function chunkedPost(path: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
      req.end();
    });
  }
});
