import { createServer } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { proxyProcessEnv } from './proxy-process-env.ts';

// Child process (forked by reference-proxy.ts): the textbook Node proxy of node-proxy-process.ts with
// undici (the client behind Node's fetch, the gateway's upstream client) in place of node:http's
// ClientRequest — read the request body, dispatch it over undici's keep-alive pool, write the answer
// back as it comes — and nothing else. Beside node:http it shows what the choice of client costs.

const { target, port } = proxyProcessEnv('undici-proxy-process.ts');
const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string | string[]> = {};
    for (const name in req.headers) if (!HOP_BY_HOP.has(name)) headers[name] = req.headers[name]!;
    const body = chunks.length ? Buffer.concat(chunks) : null;
    agent.dispatch({ origin: target, path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body }, {
      onRequestStart() {}, // undici tells its handler API (this one, not the deprecated one) by this method
      onResponseStart(_controller, statusCode, answerHeaders) {
        const relayed: Record<string, string | string[]> = {};
        for (const name in answerHeaders) if (!HOP_BY_HOP.has(name) || name === 'content-length') relayed[name] = answerHeaders[name]!;
        res.writeHead(statusCode, relayed);
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        res.destroy();
      },
    });
  });
}).listen(port, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
