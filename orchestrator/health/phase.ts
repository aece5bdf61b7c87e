import type { Engine } from '../config/engines.ts';

// Each engine's log lines while it loads, in the order it prints them, mapped to the loading phase an
// operator sees. SERVING marks the line each prints once it serves (TGI's router "Connected"): it is
// not a loading phase, and readiness is still GET /health answering 200. docs/engines.md cites where
// vLLM and SGLang log these lines.
type Phases = Array<[RegExp, string]>;

export const SERVING = 'connected';

const TGI: Phases = [
  [/Starting check and download process|Downloading|Download file/i, 'downloading weights'],
  [/Successfully downloaded weights|Starting shard|Waiting for shard to be ready/i, 'loading shards'],
  [/Shard ready in|Starting Webserver|Warming up model|Setting max batch total tokens/i, 'warming up'],
  [/\bConnected\b/, SERVING],
];

const VLLM: Phases = [
  [/Starting to load model|Loading weights|Loading safetensors checkpoint shards|Model loading took/, 'loading shards'],
  [/Memory profiling takes|Available KV cache memory|GPU KV cache size|Capturing CUDA graph|Graph capturing finished|init engine .* took/, 'warming up'],
  [/Starting vLLM API server/, SERVING],
];

const SGLANG: Phases = [
  [/Load weight begin|Load weight end/, 'loading shards'],
  [/KV Cache is allocated|Capture cuda graph begin|Capture cuda graph end|Memory pool end/, 'warming up'],
  [/The server is fired up and ready to roll!/, SERVING],
];

const PHASES: Record<Engine, Phases> = { tgi: TGI, vllm: VLLM, sglang: SGLANG };

/**
 * The phase a log line shows, for `engine`; without one, TGI's lines first, then vLLM's and SGLang's
 * (no line of one engine matches the others' patterns).
 */
export function phaseFromLogLine(line: string, engine?: Engine): string | undefined {
  for (const phases of engine ? [PHASES[engine]] : [TGI, VLLM, SGLANG]) {
    for (const [pattern, phase] of phases) if (pattern.test(line)) return phase;
  }
  return undefined;
}
