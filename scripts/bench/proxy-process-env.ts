// How reference-proxy.ts tells each reference proxy process (hpm-, node-proxy-, undici-proxy- and
// tcp-relay-process.ts) where to listen and what to relay to.

export const TARGET_VARIABLE = 'BENCH_PROXY_TARGET';
export const PORT_VARIABLE = 'BENCH_PROXY_PORT';

/** The upstream URL and the port to listen on; `entry` names the process file in the error. */
export function proxyProcessEnv(entry: string): { target: string; port: number } {
  const target = process.env[TARGET_VARIABLE];
  const port = Number(process.env[PORT_VARIABLE]);
  if (!target || !Number.isInteger(port)) {
    throw new Error(`${entry} is started by scripts/bench/reference-proxy.ts, which passes ${TARGET_VARIABLE} and ${PORT_VARIABLE}`);
  }
  return { target, port };
}
