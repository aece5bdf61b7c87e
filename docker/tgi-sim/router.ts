// TGI's route table (router/src/server.rs): unknown paths 404, known paths with another method 405.
import { chatCompletions } from './routes/chat.ts';
import { invocations, vertex } from './routes/cloud.ts';
import { completions } from './routes/completions.ts';
import type { Handler } from './routes/exchange.ts';
import { compatGenerate, generate, generateStream } from './routes/generate.ts';
import { health, info, metrics, models } from './routes/model-info.ts';
import { chatTokenize, tokenizeRoute } from './routes/tokenize.ts';

type Methods = Partial<Record<'GET' | 'POST', Handler>>;

const ROUTES: Record<string, Methods> = {
  '/': { GET: health, POST: compatGenerate },
  '/generate': { POST: generate },
  '/generate_stream': { POST: generateStream },
  '/v1/chat/completions': { POST: chatCompletions },
  '/v1/completions': { POST: completions },
  '/tokenize': { POST: tokenizeRoute },
  '/chat_tokenize': { POST: chatTokenize },
  '/invocations': { POST: invocations },
  '/vertex': { POST: vertex },
  '/health': { GET: health },
  '/ping': { GET: health },
  '/info': { GET: info },
  '/metrics': { GET: metrics },
  '/v1/models': { GET: models },
};

/** Routes that run the model: the ones SIM_CRASH_AFTER_REQUESTS counts. */
const GENERATION_ROUTES = new Set(['/', '/generate', '/generate_stream', '/v1/chat/completions', '/v1/completions', '/invocations', '/vertex']);

export type RouteMatch = { kind: 'handler'; handler: Handler; generates: boolean } | { kind: 'not-found' } | { kind: 'method-not-allowed'; allow: string };

export function matchRoute(method: string | undefined, url: string | undefined): RouteMatch {
  const path = (url ?? '/').split('?')[0];
  const methods = ROUTES[path];
  if (!methods) return { kind: 'not-found' };
  // Like axum, a GET route answers HEAD too (Node leaves the body out).
  const handler = methods[(method === 'HEAD' ? 'GET' : method) as keyof Methods];
  if (!handler) return { kind: 'method-not-allowed', allow: Object.keys(methods).join(',') };
  return { kind: 'handler', handler, generates: method === 'POST' && GENERATION_ROUTES.has(path) };
}
