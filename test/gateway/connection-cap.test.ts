import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, http, rawRequest, startGateway, type GatewayFixture } from './fixture.ts';

// gateway.max_connections_per_client: connections from one address beyond the cap get a 429 and are
// closed as they arrive, while other addresses are served as usual; trusted proxies are exempt.

const CAP = 20;

/** A connection whose request head is not finished: the gateway holds it open, waiting for the rest. */
function holdConnection(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write('GET /health HTTP/1.1\r\nhost: gateway\r\n');
      resolve(socket);
    });
  });
}

/** Finishes a held connection's request and resolves with the status line's code. */
function finish(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d) => {
      text += d;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status) resolve(Number(status[1]));
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.write('connection: close\r\n\r\n');
  });
}

/** Connects from 127.0.0.1, sends a request and resolves with the whole answer (the gateway leaves closing a refused connection to the client). */
function refusedAnswer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => socket.write('GET /health HTTP/1.1\r\nhost: gateway\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => {
      text += d;
      const [head, body] = text.split('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      if (body !== undefined && Buffer.byteLength(body) >= length) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a whole answer: ${JSON.stringify(text)}`)));
  });
}

async function refusedCount(gw: GatewayFixture): Promise<number> {
  const text = (await http(`${gw.url}/metrics`, { token: gw.token, localAddress: '127.0.0.3' })).text;
  return Number(/^gateway_connections_refused_total\{reason="per_client_cap"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('per-client connection cap', () => {
  let sim: SimProcess;
  const held: Socket[] = [];
  const body = { inputs: 'Hi', parameters: { max_new_tokens: 2 } };

  before(async () => {
    sim = await startSim();
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await sim?.stop();
  });

  test('connections over the cap get 429 and are closed; another address is served meanwhile; freed ones make room', async () => {
    const gw = await startGateway({ deployments: [{ model: 'm', upstream: sim.upstream }], settings: { maxConnectionsPerClient: CAP } });
    try {
      const mine: Socket[] = [];
      for (let i = 0; i < CAP; i++) mine.push(await holdConnection(gw.port));
      held.push(...mine);

      const extra = await Promise.all(Array.from({ length: 5 }, () => refusedAnswer(gw.port)));
      for (const refused of extra) {
        assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
        assert.match(refused, /connection: close/i);
        assert.match(refused, /too many open connections from this address \(gateway\.max_connections_per_client\)/);
        assert.match(refused, /retry-after: 1/i);
      }

      const told = await http(`${gw.url}/m/gpu0/generate`, { token: gw.token, body, localAddress: '127.0.0.1' });
      assert.equal(told.status, 429, 'an HTTP client over the cap reads why');
      assert.match(told.json().error.message, /max_connections_per_client/);

      const other = await Promise.all(Array.from({ length: 10 }, () => http(`${gw.url}/m/gpu0/generate`, { token: gw.token, body, localAddress: '127.0.0.2' })));
      assert.deepEqual(other.map((r) => r.status), Array(10).fill(200), 'another address is served from the simulator');
      assert.equal(await refusedCount(gw), 6);
      assert.equal(gw.notices.filter((n) => /max_connections_per_client/.test(n.message)).length, 1, 'one notice per address, not one per connection');

      // The held connections were accepted, not refused: they are served when their request is complete.
      const freed = mine.splice(0, 3);
      assert.deepEqual(await Promise.all(freed.map(finish)), [200, 200, 200]);
      await eventually(async () => (await rawRequest(gw.port, 'GET /health HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n', { localAddress: '127.0.0.1' })).status === 200, 'a new connection from 127.0.0.1 to be accepted once some closed', 30_000);
      for (const socket of mine) socket.destroy();
    } finally {
      await gw.close();
    }
  });

  test('trusted proxies are exempt: they carry many clients', async () => {
    const gw = await startGateway({ deployments: [{ model: 'm', upstream: sim.upstream }], settings: { maxConnectionsPerClient: CAP, trustedProxies: ['127.0.0.1'] } });
    try {
      const proxyConnections: Socket[] = [];
      for (let i = 0; i < CAP + 5; i++) proxyConnections.push(await holdConnection(gw.port));
      held.push(...proxyConnections);
      assert.deepEqual(await Promise.all(proxyConnections.map(finish)), Array(CAP + 5).fill(200));
      assert.equal(await refusedCount(gw), 0);
    } finally {
      await gw.close();
    }
  });

  test('max_connections_per_client: 0 is no cap', async () => {
    const gw = await startGateway({ deployments: [{ model: 'm', upstream: sim.upstream }], settings: { maxConnectionsPerClient: 0 } });
    try {
      const many: Socket[] = [];
      for (let i = 0; i < CAP + 5; i++) many.push(await holdConnection(gw.port));
      held.push(...many);
      assert.deepEqual(await Promise.all(many.map(finish)), Array(CAP + 5).fill(200));
    } finally {
      await gw.close();
    }
  });
});
