// TGI's route table (router/src/server.rs): unknown paths 404, known paths with another method 405
// (with axum's `allow` header). With --api-key the "base routes" (generation and /tokenize) want
// `Authorization: Bearer <key>`, compared case-insensitively, and answer 401 otherwise; the info
// routes (/health, /info, /metrics, …) never ask for it.
import { chatCompletions } from './routes/chat.ts';
import { invocations, vertex } from './routes/cloud.ts';
import { completions } from './routes/completions.ts';
import type { Handler } from './routes/exchange.ts';
import { compatGenerate, generate, generateStream } from './routes/generate.ts';
import { health, info, metrics, models } from './routes/model-info.ts';
import { chatTokenize, tokenizeRoute } from './routes/tokenize.ts';

type Method = 'GET' | 'POST';

interface Route {
  handler: Handler;
  /** A base route: behind --api-key. */
  guarded: boolean;
  /** Runs the model: counted by SIM_CRASH_AFTER_REQUESTS. */
  generates: boolean;
}

const base = (handler: Handler, generates = true): Route => ({ handler, guarded: true, generates });
const open = (handler: Handler): Route => ({ handler, guarded: false, generates: false });

const ROUTES: Record<string, Partial<Record<Method, Route>>> = {
  '/': { GET: open(health), POST: base(compatGenerate) },
  '/generate': { POST: base(generate) },
  '/generate_stream': { POST: base(generateStream) },
  '/v1/chat/completions': { POST: base(chatCompletions) },
  '/v1/completions': { POST: base(completions) },
  '/vertex': { POST: base(vertex) },
  '/invocations': { POST: base(invocations) },
  '/tokenize': { POST: base(tokenizeRoute, false) },
  '/chat_tokenize': { POST: open(chatTokenize) },
  '/health': { GET: open(health) },
  '/ping': { GET: open(health) },
  '/info': { GET: open(info) },
  '/metrics': { GET: open(metrics) },
  '/v1/models': { GET: open(models) },
};

export type RouteMatch =
  | { kind: 'handler'; handler: Handler; generates: boolean }
  | { kind: 'not-found' }
  | { kind: 'unauthorized' }
  | { kind: 'method-not-allowed'; allow: string };

/** axum's `allow` header: a GET route allows HEAD too. */
function allowHeader(methods: Partial<Record<Method, Route>>): string {
  return (Object.keys(methods) as Method[]).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(',');
}

function authorized(authorization: string | undefined, apiKey: string | undefined): boolean {
  return apiKey === undefined || (authorization !== undefined && authorization.toLowerCase() === `bearer ${apiKey}`.toLowerCase());
}

export function matchRoute(method: string | undefined, url: string | undefined, authorization?: string, apiKey?: string): RouteMatch {
  const path = (url ?? '/').split('?')[0];
  const methods = ROUTES[path];
  if (!methods) return { kind: 'not-found' };
  // Like axum, a GET route answers HEAD too (Node leaves the body out).
  const route = methods[(method === 'HEAD' ? 'GET' : method) as Method];
  const guarded = route ? route.guarded : Object.values(methods).every((r) => r.guarded);
  if (guarded && !authorized(authorization, apiKey)) return { kind: 'unauthorized' };
  if (!route) return { kind: 'method-not-allowed', allow: allowHeader(methods) };
  return { kind: 'handler', handler: route.handler, generates: route.generates };
}
