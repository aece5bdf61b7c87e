import { Agent, createServer, request } from 'node:http';
import { proxyProcessEnv } from './proxy-process-env.ts';

// Child process (forked by reference-proxy.ts): a textbook Node reverse proxy — read the request body,
// send it upstream over a keep-alive agent (Nagle off, as the gateway's), pipe the answer back — and
// nothing else: no auth, no routing, no limits, no metrics. It shows what Node's HTTP server and client
// cost before any of the gateway's own work.

const { target, port } = proxyProcessEnv('node-proxy-process.ts');
const upstream = new URL(target);
const agent = new Agent({ keepAlive: true, maxSockets: 256, noDelay: true } as ConstructorParameters<typeof Agent>[0]);

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = { ...req.headers, 'content-length': String(body.length) };
    const relayed = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, agent, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    relayed.on('error', () => res.destroy());
    relayed.end(body);
  });
}).listen(port, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
