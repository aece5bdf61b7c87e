import { connect, createServer, type Socket } from 'node:net';
import { proxyProcessEnv } from './proxy-process-env.ts';

// Child process (forked by reference-proxy.ts): the least a Node proxy can do — relay bytes between
// the client's connection and one to the upstream, opened ahead of time (as the gateway's pool has
// one open), without parsing HTTP at all. What it adds is what one Node process in the path costs on
// this machine before any HTTP: the floor under every Node gateway's added time to first token.

const { target, port } = proxyProcessEnv('tcp-relay-process.ts');
const upstream = new URL(target);

function openUpstream(): Socket {
  const socket = connect(Number(upstream.port), upstream.hostname);
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    if (spare === socket) spare = undefined; // closed unused: the next client opens its own
  });
  return socket;
}

// The next connection is opened when one closes, not as a client arrives: the upstream would accept
// it while it reads the client's request.
let spare: Socket | undefined = openUpstream();
createServer((client) => {
  client.setNoDelay(true);
  const server = spare ?? openUpstream();
  spare = undefined;
  client.on('data', (chunk) => server.write(chunk));
  server.on('data', (chunk) => client.write(chunk));
  client.on('end', () => server.end());
  server.on('end', () => client.end());
  client.on('error', () => server.destroy());
  server.on('close', () => {
    client.destroy();
    spare ??= openUpstream();
  });
}).listen(port, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
