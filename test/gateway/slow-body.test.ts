import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { DEFAULT_LIMITS, eventually, gatewayErrorMessage, http, rawRequest, startGateway, type GatewayFixture, type RawExchange } from './fixture.ts';

// request_timeout covers the client's upload: a body that trickles in (or stalls) gets a 408 that
// blames the upload, and the request's concurrency slot is free at once, whether the gateway reads
// the body itself (/generate, the root OpenAI routes) or pipes it upstream (the other routes).

describe('gateway slow request bodies', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;
  const TIMEOUT_MS = 500;

  before(async () => {
    sim = await startSim();
    gw = await startGateway({
      deployments: [{ model: 'slow', upstream: sim.upstream, limits: { requestTimeoutMs: TIMEOUT_MS, maxConcurrentRequests: 1 } }],
      settings: { limits: { ...DEFAULT_LIMITS, requestTimeoutMs: TIMEOUT_MS } },
    });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  const head = (path: string, framing: string) =>
    `POST ${path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${gw.token}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;
  /** A chunked body that sends one byte every 100 ms and never ends (10 s of it). */
  const trickle = { chunks: Array.from({ length: 100 }, () => '1\r\n \r\n'), intervalMs: 100 };

  function assertBlamesTheUpload(res: RawExchange, what: string): void {
    assert.equal(res.status, 408, `${what}: ${res.text}`);
    const body = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4));
    assert.equal(body.error.code, 408);
    assert.equal(body.error.type, 'request_timeout');
    assert.match(body.error.message, /the request body did not arrive within 0\.5 s \(request_timeout\)/, what);
    assert.match(body.error.message, /upload/);
    assert.ok(res.answeredAfterMs !== undefined && res.answeredAfterMs >= TIMEOUT_MS - 50 && res.answeredAfterMs < TIMEOUT_MS + 1000, `${what}: answered after ${res.answeredAfterMs} ms`);
    assert.ok(res.closed, `${what}: the gateway closes the connection of a body it did not read`);
    assert.match(res.text, /\r\nconnection: close\r\n/i);
  }

  test('a chunked body that trickles in gets 408 after request_timeout, wherever the gateway reads it', async () => {
    for (const path of ['/slow/gpu0/generate', '/slow/generate_stream', '/v1/chat/completions']) {
      assertBlamesTheUpload(await rawRequest(gw.port, head(path, 'Transfer-Encoding: chunked'), { trickle }), path);
      assert.equal(gw.deployment('slow/gpu0').inFlight, 0, `${path}: the slot is free`);
    }
  });

  test('a chunked body that trickles in gets 408 on routes whose body is piped upstream, not a 504 blaming TGI', async () => {
    for (const path of ['/slow/gpu0/v1/chat/completions', '/slow/gpu0/tokenize']) {
      const res = await rawRequest(gw.port, head(path, 'Transfer-Encoding: chunked'), { trickle });
      assertBlamesTheUpload(res, path);
      assert.doesNotMatch(res.text, /did not answer/);
      assert.equal(gw.records.at(-1)?.status, 408);
      assert.equal(gw.deployment('slow/gpu0').inFlight, 0, `${path}: the slot is free`);
    }
  });

  test('a body that stalls short of its Content-Length gets 408 too', async () => {
    for (const path of ['/slow/gpu0/generate', '/slow/gpu0/v1/completions']) {
      assertBlamesTheUpload(await rawRequest(gw.port, head(path, 'Content-Length: 100') + '{"inputs": "', {}), path);
    }
  });

  test('the slot of a stalled upload is free for the next request at once', async () => {
    const stalled = rawRequest(gw.port, head('/slow/gpu0/generate', 'Transfer-Encoding: chunked'), { trickle });
    await eventually(() => gw.deployment('slow/gpu0').inFlight === 1, 'the slow upload to hold the only slot');
    assert.equal((await generate()).status, 429, 'while it uploads, the slot is taken');
    assertBlamesTheUpload(await stalled, 'stalled');
    assert.equal((await generate()).status, 200);
    const metrics = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
    assert.match(metrics, /^gateway_requests_total\{model="slow",gpu="gpu0",engine="tgi",status="408"\} \d+$/m);
  });

  test('a body that arrives in pieces within request_timeout is served', async () => {
    const body = JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } });
    const pieces = [body.slice(0, 5), body.slice(5, 12), body.slice(12)].map((p) => `${p.length.toString(16)}\r\n${p}\r\n`);
    for (const path of ['/slow/gpu0/generate', '/slow/gpu0/tokenize']) {
      const res = await rawRequest(gw.port, head(path, 'Transfer-Encoding: chunked\r\nConnection: close'), { trickle: { chunks: [...pieces, '0\r\n\r\n'], intervalMs: 60 } });
      assert.equal(res.status, 200, `${path}: ${res.text}`);
    }
    gatewayErrorMessage(await http(`${gw.url}/slow/gpu0/generate`, { token: gw.token, body: '{' }), 400);
  });

  const generate = () => http(`${gw.url}/slow/gpu0/generate`, { token: gw.token, body: { inputs: 'Hi', parameters: { max_new_tokens: 2 } } });
});
