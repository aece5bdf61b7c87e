import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Upstream } from '../../gateway/types.ts';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { freePort } from '../../orchestrator/net.ts';
import type { CleanupScope } from './cleanup.ts';
import { PORT_VARIABLE, TARGET_VARIABLE } from './proxy-process-env.ts';

// The reference proxies in front of the upstream, each in its own process like the gateway:
// - express+hpm (hpm-process.ts): the textbook Express + http-proxy-middleware proxy, which shows what
//   the gateway's own relay saves over hpm;
// - node:http (node-proxy-process.ts): a textbook Node proxy (read the request, relay it with a
//   keep-alive agent, pipe the answer back), which shows what Node's HTTP stack costs by itself;
// - undici (undici-proxy-process.ts): the same proxy with undici as its upstream client, as the
//   gateway's relay has it, which shows what that choice saves over node:http's client;
// - tcp (tcp-relay-process.ts): a byte relay over a connection opened ahead of time, no HTTP at all,
//   which shows what a Node process in the path costs by itself.

export type ReferenceProxy = 'express+hpm' | 'node:http' | 'undici' | 'tcp';

const ENTRIES: Record<ReferenceProxy, string> = {
  'express+hpm': fileURLToPath(new URL('./hpm-process.ts', import.meta.url)),
  'node:http': fileURLToPath(new URL('./node-proxy-process.ts', import.meta.url)),
  undici: fileURLToPath(new URL('./undici-proxy-process.ts', import.meta.url)),
  tcp: fileURLToPath(new URL('./tcp-relay-process.ts', import.meta.url)),
};
const STDERR_KEPT = 8000;

/** Starts the proxy on a free loopback port, stopped with the scope; resolves once /health answers through it. */
export async function startReferenceProxy(kind: ReferenceProxy, upstream: Upstream, scope: CleanupScope): Promise<Upstream> {
  const port = await freePort();
  // The IPC channel is there so that the child exits when the bench dies without cleaning up.
  const child = fork(ENTRIES[kind], [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, [TARGET_VARIABLE]: upstream.url, [PORT_VARIABLE]: String(port) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  scope.child(`${kind} process`, child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-STDERR_KEPT)));
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the ${kind} process exited with ${code} before it was ready:\n${stderr}`))),
  );
  died.catch(() => {}); // its exit at cleanup is expected
  const proxied: Upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
  await Promise.race([waitUntilHealthy(proxied, AbortSignal.timeout(30_000), 50), died]);
  return proxied;
}
