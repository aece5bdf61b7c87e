import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Upstream } from '../../gateway/types.ts';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { freePort } from '../../orchestrator/net.ts';
import type { CleanupScope } from './cleanup.ts';

// nginx (Debian's nginx-light) as a plain reverse proxy: the reference the gateway is compared with.
// One process (no daemon, no master), every path inside the bench's temp dir, HTTP/1.1 with a pool of
// keep-alive connections to the upstream, no buffering (as a streaming LLM proxy would be set up).

export const NGINX = '/usr/sbin/nginx';

function nginxConfig(dir: string, port: number, upstream: Upstream): string {
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream simulator {
    server ${upstream.host}:${upstream.port};
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

/** Starts nginx in front of the upstream; resolves once /health answers through it. */
export async function startNginx(upstream: Upstream, workDir: string, scope: CleanupScope): Promise<Upstream> {
  const dir = join(workDir, 'nginx');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxConfig(dir, port, upstream));
  const child = spawn(NGINX, ['-p', dir, '-c', config, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  scope.child('nginx', child);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${NGINX} (${error.message}); install it with apt-get install nginx-light`)));
    child.once('exit', async (code) => {
      const errors = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      reject(new Error(`nginx exited with ${code}:\n${errors}`));
    });
  });
  exited.catch(() => {}); // its exit at cleanup is expected; only an exit before it is ready is an error
  const proxied: Upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
  await Promise.race([waitUntilHealthy(proxied, AbortSignal.timeout(10_000), 50), exited]);
  return proxied;
}
