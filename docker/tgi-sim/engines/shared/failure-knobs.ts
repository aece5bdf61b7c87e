// SIM_CRASH_AFTER_REQUESTS and SIM_HANG around the generation routes of both engines: the crash
// happens when request N+1 arrives, before it is answered (the client sees the connection close);
// a hung request is admitted and never answered. The simulator's own warm-up request (SGLang's,
// marked with the WARMUP_HEADER) is exempt, so SIM_HANG still lets the server become ready.
import type { Handler, RouteTable } from './fastapi-server.ts';
import type { EngineKnobs } from './sim-knobs.ts';

export const WARMUP_HEADER = 'x-sim-warmup';

export function withFailureKnobs(routes: RouteTable, generationPaths: string[], knobs: EngineKnobs, crash: () => never): void {
  let answered = 0;
  for (const path of generationPaths) {
    const post = routes[path]?.POST;
    if (!post) continue;
    const wrapped: Handler = async (x) => {
      if (x.req.headers[WARMUP_HEADER] !== undefined) return post(x);
      if (knobs.crashAfterRequests !== undefined && answered++ >= knobs.crashAfterRequests) crash();
      if (knobs.hang) return new Promise<void>(() => {});
      return post(x);
    };
    routes[path]!.POST = wrapped;
  }
}
