// vLLM's OpenAI-compatible server routes (vllm/entrypoints/openai/api_server.py and the routers it
// mounts: serve/instrumentator/health.py, models/api_router.py, chat_completion/api_router.py,
// completion/api_router.py, the tokenize router, the /metrics ASGI app). With --api-key, paths
// under /v1 want `Authorization: Bearer KEY` and answer 401 {"error": "Unauthorized"} otherwise.
import { randomUUID } from 'node:crypto';
import { applyChatTemplate } from '../../chat-template.ts';
import { sendEmpty, sendJson, sendText } from '../../http-io.ts';
import { EngineError, type Handler, type Request, type RouteTable } from '../shared/fastapi-server.ts';
import { chatCompletions, completions, type OpenAiProfile } from '../shared/openai-routes.ts';
import { readChatBody } from '../shared/openai-requests.ts';
import { Scheduler } from '../shared/scheduler.ts';
import { EngineStats } from '../shared/stats.ts';
import { pieceText, promptIds } from '../shared/vocabulary.ts';
import { VLLM_VERSION, type VllmSettings } from './cli.ts';
import { vllmContextError, vllmModelNotFound } from './errors.ts';
import { vllmMetrics } from './metrics.ts';

export interface VllmServer {
  routes: RouteTable;
  profile: OpenAiProfile;
}

export function vllmRoutes(s: VllmSettings, startedAt: number): VllmServer {
  const scheduler = new Scheduler(s.maxNumSeqs);
  const stats = new EngineStats();
  const profile: OpenAiProfile = {
    servedModelName: s.servedModelName,
    maxModelLen: s.maxModelLen,
    tokensPerSecond: s.knobs.tokensPerSecond,
    scheduler,
    stats,
    checkModel(model) {
      if (model !== undefined && model !== s.servedModelName) throw vllmModelNotFound(model);
    },
    contextError: (promptTokens, maxTokens) => vllmContextError(promptTokens, maxTokens, s.maxModelLen),
    finishFields: (ending) => ({ stop_reason: ending?.matchedStop ?? null }),
    newId: (kind) => `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`,
  };

  const health: Handler = async ({ res }) => sendEmpty(res, 200);
  const models: Handler = async ({ res }) =>
    sendJson(res, 200, {
      object: 'list',
      data: [
        {
          id: s.servedModelName,
          object: 'model',
          created: startedAt,
          owned_by: 'vllm',
          root: s.model,
          parent: null,
          max_model_len: s.maxModelLen,
          permission: [{ id: `modelperm-${randomUUID().replace(/-/g, '')}`, object: 'model_permission', created: startedAt, allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: '*', group: null, is_blocking: false }],
        },
      ],
    });
  const tokenize: Handler = async (x: Request) => {
    const body = (await x.body()) as Record<string, unknown>;
    let ids: number[];
    if (Array.isArray(body?.messages)) {
      ids = promptIds(applyChatTemplate(readChatBody(body).messages), false);
    } else if (typeof body?.prompt === 'string') {
      ids = promptIds(body.prompt, body.add_special_tokens !== false);
    } else {
      throw new EngineError(400, "[{'type': 'missing', 'loc': ('body', 'prompt'), 'msg': 'Field required'}]", 'BadRequestError', 'prompt');
    }
    sendJson(x.res, 200, { count: ids.length, max_model_len: s.maxModelLen, tokens: ids, token_strs: null });
  };
  const detokenize: Handler = async (x: Request) => {
    const body = (await x.body()) as Record<string, unknown>;
    if (!Array.isArray(body?.tokens) || !body.tokens.every((t) => Number.isInteger(t))) throw new EngineError(400, "[{'type': 'missing', 'loc': ('body', 'tokens'), 'msg': 'Field required'}]", 'BadRequestError', 'tokens');
    sendJson(x.res, 200, { prompt: (body.tokens as number[]).map((id) => pieceText(id) ?? '').filter((text) => text !== '<s>' && text !== '</s>').join('') });
  };
  const metrics: Handler = async ({ res }) => sendText(res, 200, vllmMetrics(s.servedModelName, scheduler, stats, s.maxNumSeqs), 'text/plain; version=0.0.4; charset=utf-8');

  const routes: RouteTable = {
    '/health': { GET: health },
    '/ping': { GET: health, POST: health },
    '/version': { GET: async ({ res }) => sendJson(res, 200, { version: VLLM_VERSION }) },
    '/v1/models': { GET: models },
    '/tokenize': { POST: tokenize },
    '/detokenize': { POST: detokenize },
    '/metrics': { GET: metrics },
    '/v1/chat/completions': { POST: (x) => chatCompletions(profile, x) },
    '/v1/completions': { POST: (x) => completions(profile, x) },
  };
  if (s.apiKey !== undefined) {
    for (const [path, methods] of Object.entries(routes)) {
      if (!path.startsWith('/v1')) continue;
      for (const method of Object.keys(methods) as Array<keyof typeof methods>) {
        const handler = methods[method]!;
        methods[method] = async (x) => {
          if (x.req.headers.authorization !== `Bearer ${s.apiKey}`) return sendJson(x.res, 401, { error: 'Unauthorized' });
          return handler(x);
        };
      }
    }
  }
  return { routes, profile };
}
