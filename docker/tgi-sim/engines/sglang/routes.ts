// SGLang's HTTP server routes (python/sglang/srt/entrypoints/http_server.py): the OpenAI ones
// (/v1/chat/completions, /v1/completions, /v1/models), the native ones (/generate, /model_info and
// /server_info with their deprecated /get_… names, /version, /health, /health_generate) and
// /metrics with --enable-metrics.
// /health and /health_generate answer 503 until the warm-up request has finished, 200 (empty) after.
// With --api-key every route but /health and /metrics wants `Authorization: Bearer KEY`.
import { randomUUID } from 'node:crypto';
import { sendEmpty, sendJson, sendText } from '../../http-io.ts';
import type { Handler, RouteTable } from '../shared/fastapi-server.ts';
import { chatCompletions, completions, type OpenAiProfile } from '../shared/openai-routes.ts';
import { Scheduler } from '../shared/scheduler.ts';
import { EngineStats } from '../shared/stats.ts';
import { EOS } from '../../tokenizer.ts';
import { SGLANG_VERSION, type SglangSettings } from './cli.ts';
import { sglangContextError } from './errors.ts';
import { sglangMetrics } from './metrics.ts';
import { nativeGenerate } from './native-generate.ts';

export interface Readiness {
  /** Set once the warm-up request has been answered. */
  ready: boolean;
}

export function maxTotalTokens(s: SglangSettings): number {
  return Math.floor(s.memFractionStatic * 450_000);
}

export function sglangRoutes(s: SglangSettings, readiness: Readiness, startedAt: number): RouteTable {
  const scheduler = new Scheduler(s.maxRunningRequests);
  const stats = new EngineStats();
  const profile: OpenAiProfile = {
    servedModelName: s.servedModelName,
    maxModelLen: s.contextLength,
    tokensPerSecond: s.knobs.tokensPerSecond,
    scheduler,
    stats,
    checkModel: () => {},
    contextError: (promptTokens, maxTokens) => sglangContextError(promptTokens, maxTokens, s.contextLength),
    // matched_stop: the stop string, or the EOS token id, or null when the length ran out.
    finishFields: (ending) => ({ matched_stop: ending === undefined || ending.finishReason === 'length' ? null : ending.matchedStop ?? EOS.id }),
    newId: (kind) => `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
  };
  const native = { contextLength: s.contextLength, tokensPerSecond: s.knobs.tokensPerSecond, scheduler, stats };

  const health: Handler = async ({ res }) => sendEmpty(res, readiness.ready ? 200 : 503);
  const routes: RouteTable = {
    '/health': { GET: health },
    '/health_generate': { GET: health },
    '/model_info': {
      GET: async ({ res }) =>
        sendJson(res, 200, { model_path: s.modelPath, tokenizer_path: s.modelPath, is_generation: true, preferred_sampling_params: null, weight_version: 'default', has_image_understanding: false, has_audio_understanding: false, model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }),
    },
    '/server_info': {
      GET: async ({ res }) =>
        sendJson(res, 200, {
          model_path: s.modelPath,
          served_model_name: s.servedModelName,
          host: s.host,
          port: s.port,
          context_length: s.contextLength,
          tp_size: s.tpSize,
          mem_fraction_static: s.memFractionStatic,
          max_running_requests: s.maxRunningRequests,
          enable_metrics: s.enableMetrics,
          version: SGLANG_VERSION,
          internal_states: [{ max_total_num_tokens: maxTotalTokens(s), last_gen_throughput: 0 }],
        }),
    },
    '/version': { GET: async ({ res }) => sendJson(res, 200, { version: SGLANG_VERSION }) },
    '/generate': { POST: (x) => nativeGenerate(native, x), PUT: (x) => nativeGenerate(native, x) },
    '/v1/models': {
      GET: async ({ res }) => sendJson(res, 200, { object: 'list', data: [{ id: s.servedModelName, object: 'model', created: startedAt, owned_by: 'sglang', root: s.modelPath, max_model_len: s.contextLength }] }),
    },
    '/v1/chat/completions': { POST: (x) => chatCompletions(profile, x) },
    '/v1/completions': { POST: (x) => completions(profile, x) },
  };
  // The older names, deprecated in favour of /model_info and /server_info, answer the same.
  routes['/get_model_info'] = routes['/model_info'];
  routes['/get_server_info'] = routes['/server_info'];
  if (s.enableMetrics) routes['/metrics'] = { GET: async ({ res }) => sendText(res, 200, sglangMetrics(s.servedModelName, scheduler, stats, s.maxRunningRequests, maxTotalTokens(s)), 'text/plain; version=0.0.4; charset=utf-8') };
  if (s.apiKey !== undefined) {
    for (const [path, methods] of Object.entries(routes)) {
      if (path === '/health' || path === '/metrics') continue;
      for (const method of Object.keys(methods) as Array<keyof typeof methods>) {
        const handler = methods[method]!;
        methods[method] = async (x) => {
          if (x.req.headers.authorization !== `Bearer ${s.apiKey}`) return sendJson(x.res, 401, { error: 'Unauthorized' });
          return handler(x);
        };
      }
    }
  }
  return routes;
}
