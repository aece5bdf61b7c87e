import { Agent } from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { proxyProcessEnv } from './proxy-process-env.ts';

// Child process (forked by reference-proxy.ts): the textbook Express + http-proxy-middleware reverse proxy, and
// nothing else — no auth, no metrics, no rate limiting — so it is the most favourable case for hpm.
// The gateway's hot path uses its own relay on undici instead; this is the number behind that.

const { target, port } = proxyProcessEnv('hpm-process.ts');

const app = express();
app.use('/', createProxyMiddleware({ target, changeOrigin: false, agent: new Agent({ keepAlive: true, maxSockets: 256 }) }));
app.listen(port, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
