import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SHED_AFTER_REFUSALS } from '../../gateway/load-shedding.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, http, startGateway, type GatewayFixture, type HttpResult } from './fixture.ts';

// Early shedding: an address that keeps getting 429 without waiting for Retry-After has its next
// requests refused before any work (auth, routing, body); other addresses are served as usual.

const SHED_MESSAGE = /its requests are refused unread/;

/** Sends a request head whose body never comes; resolves with the first bytes answered, or '' when nothing came within `waitMs`. */
function headWithoutBody(port: number, head: string, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(head));
    const timer = setTimeout(() => done(''), waitMs);
    const done = (text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (d) => done(String(d)));
    socket.on('error', () => done(''));
  });
}

describe('early shedding', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;
  const body = { inputs: 'Hi', parameters: { max_new_tokens: 2 } };

  before(async () => {
    sim = await startSim();
    gw = await startGateway({ deployments: [{ model: 'm', upstream: sim.upstream, limits: { requestsPerSecond: 0.001, burst: 1 } }], settings: { maxConnectionsPerClient: 256 } });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  const generate = (localAddress = '127.0.0.1') => http(`${gw.url}/m/gpu0/generate`, { token: gw.token, body, localAddress });

  /** Hammers the spent rate limit from 127.0.0.1 until the gateway sheds it; returns the shed answer. */
  async function floodUntilShed(): Promise<HttpResult> {
    // Three windows' worth: the count restarts if the machine is so slow that a shedding second passed unseen.
    for (let i = 0; i < 3 * SHED_AFTER_REFUSALS + 1; i++) {
      const res = await generate();
      assert.equal(res.status, 429, res.text);
      if (SHED_MESSAGE.test(res.text)) return res;
    }
    throw new Error(`no request was shed after ${3 * SHED_AFTER_REFUSALS} refusals`);
  }

  test('an address that ignores Retry-After is shed before any work; other addresses are served', async () => {
    assert.equal((await generate()).status, 200); // the burst of 1
    const shed = await floodUntilShed();
    assert.equal(shed.headers['retry-after'], '1');
    assert.equal(shed.json().error.type, 'rate_limit_error');
    assert.equal((await generate('127.0.0.2')).status, 200, 'another address is not shed');

    // Shed before the body is read: a root OpenAI route reads the body before anything else, yet the
    // answer comes without it. (Should the shedding second have passed, the flood sheds it again.)
    let answer = '';
    for (let attempt = 0; attempt < 3 && !SHED_MESSAGE.test(answer); attempt++) {
      if (attempt > 0) await floodUntilShed();
      answer = await headWithoutBody(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${gw.token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`, 3000);
    }
    assert.match(answer, /^HTTP\/1\.1 429/);
    assert.match(answer, SHED_MESSAGE);

    const metrics = (await http(`${gw.url}/metrics`, { token: gw.token, localAddress: '127.0.0.3' })).text;
    assert.ok(Number(/^gateway_requests_shed_total (\d+)/m.exec(metrics)?.[1]) >= 2, 'shed requests are counted');
    assert.ok(!gw.records.some((r) => r.status === 429 && r.refusedBy === undefined), 'shed requests leave no request record');
  });

  test('a connection that brought a shed request is read again once the shedding ends', async () => {
    await floodUntilShed();
    const request = `POST /m/gpu0/generate HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${gw.token}\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{"inputs":"Hi"}`;
    const answers = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: gw.port, host: '127.0.0.1' }, () => socket.write(request));
      let text = '';
      let sentSecond = false;
      socket.on('data', (d) => {
        text += d;
        const count = text.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0;
        if (count === 1 && !sentSecond && text.endsWith('}')) {
          sentSecond = true;
          socket.write(request); // on the same keep-alive connection
        }
        if (count === 2 && text.endsWith('}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no second answer on the connection within 20 s: ${text}`)), 20_000).unref();
    });
    const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['429', '429']);
  });

  test('one log line (notice) per address when it starts being shed, not one per request or per shedding', async () => {
    await eventually(async () => !SHED_MESSAGE.test((await generate()).text), 'the shedding second to end', 30_000);
    await floodUntilShed(); // shed again
    const shedNotices = gw.notices.filter((n) => /is being shed/.test(n.message));
    assert.equal(shedNotices.length, 1);
    assert.match(shedNotices[0].message, /^127\.0\.0\.1 is being shed/);
  });
});

describe('early shedding off', () => {
  test('max_connections_per_client: 0 turns shedding off with the cap', async () => {
    const sim = await startSim();
    const gw = await startGateway({ deployments: [{ model: 'm', upstream: sim.upstream, limits: { requestsPerSecond: 0.001, burst: 1 } }], settings: { maxConnectionsPerClient: 0 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 2 * SHED_AFTER_REFUSALS + 1; i++) {
        const res = await http(`${gw.url}/m/gpu0/generate`, { token: gw.token, body: { inputs: 'Hi' } });
        assert.doesNotMatch(res.text, SHED_MESSAGE);
        statuses.push(res.status);
      }
      assert.equal(statuses.filter((s) => s === 429).length, 2 * SHED_AFTER_REFUSALS, 'every refusal came from the rate limit');
    } finally {
      await gw.close();
      await sim.stop();
    }
  });
});
