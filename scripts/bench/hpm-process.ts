import { Agent } from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

// Child process (forked by reference-proxy.ts): the textbook Express + http-proxy-middleware reverse proxy, and
// nothing else — no auth, no metrics, no rate limiting — so it is the most favourable case for hpm.
// The gateway's hot path uses its own relay on undici instead; this is the number behind that.

const target = process.env.BENCH_PROXY_TARGET;
const port = Number(process.env.BENCH_PROXY_PORT);
if (!target || !Number.isInteger(port)) {
  throw new Error('hpm-process.ts is started by scripts/bench/reference-proxy.ts, which passes BENCH_PROXY_TARGET and BENCH_PROXY_PORT');
}

const app = express();
app.use('/', createProxyMiddleware({ target, changeOrigin: false, agent: new Agent({ keepAlive: true, maxSockets: 256 }) }));
app.listen(port, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
