import { connect, type Socket } from 'node:net';

// Child process (forked by scenario-flood.ts): FLOOD_CONNECTIONS connections from 127.0.0.1, each
// sending the next request as soon as the last answer arrives, and reconnecting at once when the
// gateway closes it — a client that does not back off. In a process of its own, so its event loop
// does not delay the measured client's. Sends its counts over IPC when told to stop.

interface FloodConfig {
  host: string;
  port: number;
  path: string;
  token: string;
  connections: number;
}

const config = JSON.parse(process.env.BENCH_FLOOD_CONFIG ?? 'null') as FloodConfig | null;
if (!config) throw new Error('flood-process.ts is started by scripts/bench/scenario-flood.ts, which passes BENCH_FLOOD_CONFIG');

const body = JSON.stringify({ inputs: 'flood', parameters: { max_new_tokens: 1 } });
const requestBytes = Buffer.from(
  `POST ${config.path} HTTP/1.1\r\nHost: ${config.host}:${config.port}\r\nAuthorization: Bearer ${config.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
);
const statuses: Record<string, number> = {};
let closedByServer = 0;
let connects = 0;
let stopping = false;
const sockets = new Set<Socket>();
const STATUS_LINE = /HTTP\/1\.1 (\d{3})/g;

function open(): void {
  if (stopping) return;
  connects += 1;
  const socket = connect({ host: config!.host, port: config!.port, localAddress: '127.0.0.1' });
  sockets.add(socket);
  let tail = '';
  socket.on('connect', () => socket.write(requestBytes));
  socket.on('data', (chunk) => {
    const text = tail + chunk.toString('latin1');
    let answered = 0;
    for (const match of text.matchAll(STATUS_LINE)) {
      statuses[match[1]] = (statuses[match[1]] ?? 0) + 1;
      answered += 1;
    }
    tail = text.slice(-16);
    for (let i = 0; i < answered; i++) socket.write(requestBytes);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    if (stopping) return;
    closedByServer += 1;
    setImmediate(open);
  });
}

for (let i = 0; i < config.connections; i++) open();
process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  stopping = true;
  for (const socket of sockets) socket.destroy();
  process.send!({ type: 'counts', statuses, closedByServer, connects }, () => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'started' });
