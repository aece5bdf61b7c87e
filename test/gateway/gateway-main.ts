import { startGateway } from './fixture.ts';

// A gateway in a process of its own, so a test can read everything it logs. Its one deployment
// points at GATEWAY_UPSTREAM_PORT; it prints "LISTENING <port> <token>" once it serves.

const port = Number(process.env.GATEWAY_UPSTREAM_PORT);
const gw = await startGateway({
  deployments: [{ model: 'hermes', upstream: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } }],
  settings: { authLockout: { failures: 2, windowMs: 60_000, lockoutMs: 60_000 } },
});
process.stdout.write(`LISTENING ${gw.port} ${gw.token}\n`);
process.on('SIGTERM', () => void gw.close().then(() => process.exit(0)));
