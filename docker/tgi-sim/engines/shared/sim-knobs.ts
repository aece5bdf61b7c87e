// The simulator's own knobs for the vLLM and SGLang launchers, the same env as the TGI simulator's.
// They come from the env only: both engines' argparse refuses options it does not know, so
// `--sim-…` flags would be errors there.
export interface EngineKnobs {
  /** Seconds of "loading" during which nothing listens. */
  loadSeconds: number;
  /** SGLang only: seconds between the HTTP server listening and the warm-up request finishing. */
  warmupSeconds: number;
  /** Token pacing; 0 = no delay. */
  tokensPerSecond: number;
  /** Exit 1 when generation request N+1 arrives (before answering it). */
  crashAfterRequests?: number;
  /** Fail loading like a CUDA out-of-memory, exit 1. */
  crashOnLoad: boolean;
  /** Accept generation requests but never answer them. */
  hang: boolean;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  return raw !== undefined && raw !== '' && !['0', 'false', 'no', 'off'].includes(raw.toLowerCase());
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, not "${raw}"`);
  return value;
}

export function readEngineKnobs(env: NodeJS.ProcessEnv): EngineKnobs {
  return {
    loadSeconds: seconds(env, 'SIM_LOAD_SECONDS', 3),
    warmupSeconds: seconds(env, 'SIM_WARMUP_SECONDS', 1),
    tokensPerSecond: seconds(env, 'SIM_TOKENS_PER_SECOND', 30),
    crashAfterRequests: env.SIM_CRASH_AFTER_REQUESTS ? Math.floor(seconds(env, 'SIM_CRASH_AFTER_REQUESTS', 0)) : undefined,
    crashOnLoad: flag(env, 'SIM_CRASH_ON_LOAD'),
    hang: flag(env, 'SIM_HANG'),
  };
}
