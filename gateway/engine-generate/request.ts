import { randomInt } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import type { ServedDeployment } from '../types.ts';
import { hasImageTag, imageContentParts } from '../vision.ts';
import type { GeneratePlan, OpenAIEngine } from './plan.ts';

// The service API's /generate body (TGI's GenerateRequest: `inputs`, `parameters`, `stream`) as a
// vLLM or SGLang OpenAI request. Every field of TGI's GenerateParameters (router/src/lib.rs, see
// docs/tgi-contract.md "Generation parameters and `details`") is mapped or refused with a 400 naming
// it; fields TGI does not know are ignored, as TGI's serde ignores them. Text goes to /v1/completions
// (a raw prompt, as TGI's /generate takes it); inputs with <image> tags go to /v1/chat/completions
// with image_url parts, the engines' only way to take an image (docs/vllm-contract.md, sglang-contract.md).
// The fields beyond OpenAI's (top_k, repetition_penalty, include_stop_str_in_output / no_stop_trim,
// truncate_prompt_tokens, return_token_ids) are the engines' own request models: vLLM's
// vllm/entrypoints/openai/protocol.py, SGLang's python/sglang/srt/entrypoints/openai/protocol.py
// (their "OpenAI routes" sections in the contract docs).

export interface EngineRequest {
  /** Path on the engine. */
  path: '/v1/completions' | '/v1/chat/completions';
  body: Buffer;
  plan: GeneratePlan;
}

const ENGINE_NAME: Record<OpenAIEngine, string> = { vllm: 'vLLM', sglang: 'SGLang' };

/** TGI's seeds are u64; the engines take Python ints, and the simulator a 31-bit one. */
const SEED_BOUND = 2 ** 31;

type Params = Record<string, unknown>;

function refuse(name: string, why: string): never {
  throw new GatewayError(400, `parameters.${name}: ${why}`);
}

function number(p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) refuse(name, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function integer(p: Params, name: string, min: number): number | undefined {
  const v = number(p, name);
  if (v !== undefined && (!Number.isInteger(v) || v < min)) refuse(name, `must be an integer >= ${min}, got ${v}`);
  return v;
}

function flag(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') refuse(name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function stops(p: Params): string[] {
  const v = p.stop;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) refuse('stop', 'must be a list of strings');
  return v as string[];
}

export function engineGenerateRequest(d: ServedDeployment, engine: OpenAIEngine, inputs: string, json: Record<string, unknown>, stream: boolean): EngineRequest {
  const name = ENGINE_NAME[engine];
  const notOn = (param: string, hint: string) => refuse(param, `${name} has no equivalent (${d.spec.model} runs on ${name}); ${hint}`);
  if (json.parameters !== undefined && json.parameters !== null && (typeof json.parameters !== 'object' || Array.isArray(json.parameters))) {
    throw new GatewayError(400, '`parameters` must be a JSON object');
  }
  const given = json.parameters !== undefined && json.parameters !== null;
  const p = (json.parameters ?? {}) as Params;

  // Refused: what neither engine's OpenAI API can do.
  if (number(p, 'typical_p') !== undefined) notOn('typical_p', 'use top_p or top_k instead');
  if (flag(p, 'watermark')) notOn('watermark', 'leave it out or set it to false');
  const bestOf = integer(p, 'best_of', 0);
  if (bestOf !== undefined && bestOf > 1) notOn('best_of', 'send the request several times and pick the answer yourself');
  if (p.grammar !== undefined && p.grammar !== null) notOn('grammar', `use /v1/chat/completions with response_format (${name} supports JSON schemas there)`);
  if (typeof p.adapter_id === 'string' && p.adapter_id !== '') notOn('adapter_id', 'LoRA adapters are not set up for this deployment; leave it out');
  const truncate = integer(p, 'truncate', 1);
  if (truncate !== undefined && engine === 'sglang') notOn('truncate', 'shorten the prompt yourself');
  const decoderInputDetails = flag(p, 'decoder_input_details') ?? false;
  if (decoderInputDetails && stream) refuse('decoder_input_details', 'true is not supported when streaming tokens (as on TGI)');

  const temperature = number(p, 'temperature');
  const topP = number(p, 'top_p');
  const topK = integer(p, 'top_k', 1);
  const repetitionPenalty = number(p, 'repetition_penalty');
  const frequencyPenalty = number(p, 'frequency_penalty');
  const maxNewTokens = integer(p, 'max_new_tokens', 1);
  const topNTokens = integer(p, 'top_n_tokens', 0) ?? 0;
  const seedGiven = integer(p, 'seed', 0);
  const details = (flag(p, 'details') ?? false) || decoderInputDetails;
  const returnFullText = flag(p, 'return_full_text') ?? false;
  const stop = stops(p);
  // TGI samples when do_sample is set or any sampling knob is; a body without `parameters` samples.
  const sampling = !given || (flag(p, 'do_sample') ?? false) || temperature !== undefined || topP !== undefined || topK !== undefined;
  // The seed is drawn here when the client gave none, so that details.seed is the one used.
  const seed = sampling ? (seedGiven ?? randomInt(SEED_BOUND)) : null;
  const wantTokens = details || stream;

  const body: Record<string, unknown> = { model: d.spec.model };
  const vision = hasImageTag(inputs);
  if (vision) {
    if (!d.spec.vision) throw new GatewayError(400, `${d.spec.model} does not accept images: it is not a vision model (vision: true in models.yaml); send text only, or send the image to a vision model`);
    body.messages = [{ role: 'user', content: imageContentParts(inputs) }];
  } else {
    body.prompt = inputs;
  }
  if (maxNewTokens !== undefined) body.max_tokens = maxNewTokens;
  // Without max_new_tokens TGI generates up to the context; vLLM does so for `max_tokens: null` (its
  // completions default is 16). SGLang's field is a plain int: its default applies.
  else if (engine === 'vllm') body.max_tokens = null;
  if (sampling) {
    body.temperature = temperature ?? 1.0;
    if (topP !== undefined) body.top_p = topP;
    if (topK !== undefined) body.top_k = topK;
    body.seed = seed;
  } else {
    body.temperature = 0; // greedy on both engines
  }
  if (repetitionPenalty !== undefined) body.repetition_penalty = repetitionPenalty;
  if (frequencyPenalty !== undefined) body.frequency_penalty = frequencyPenalty;
  if (stop.length > 0) {
    body.stop = stop;
    // TGI keeps the stop sequence in the text; the engines drop it unless told.
    if (engine === 'vllm') body.include_stop_str_in_output = true;
    else body.no_stop_trim = true;
  }
  if (truncate !== undefined) body.truncate_prompt_tokens = truncate;
  if (wantTokens) {
    if (vision) {
      body.logprobs = true;
      body.top_logprobs = topNTokens;
    } else {
      body.logprobs = Math.max(1, topNTokens);
    }
    if (engine === 'vllm') body.return_token_ids = true;
  }
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return {
    path: vision ? '/v1/chat/completions' : '/v1/completions',
    body: Buffer.from(JSON.stringify(body)),
    plan: { engine, route: vision ? 'chat' : 'completions', details, topNTokens, seed, prefix: returnFullText ? inputs : '' },
  };
}
