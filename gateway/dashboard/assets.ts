import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import express from 'express';
import type { Logger } from '../types.ts';
import { buildDashboard, DIST_DIR, UI_DIR, type BuiltFile } from './build.ts';

// Serves the page: GET / (index.html) and GET /ui/<file>. Files come from dist/ when `npm run build`
// made it after the last change to ui/; otherwise the page is built in memory at start, so a checkout
// that was never built (or was edited since) still serves the current page.

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

// The page loads only its own files and talks only to its own origin; model output can never run.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

async function newestMtime(dir: string): Promise<number> {
  const names = await readdir(dir);
  const times = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).mtimeMs));
  return Math.max(0, ...times);
}

/** The built files from dist/ if they are newer than every source file, else undefined. */
async function readFreshDist(): Promise<BuiltFile[] | undefined> {
  try {
    const names = await readdir(DIST_DIR);
    if (!['index.html', 'app.js', 'app.css'].every((n) => names.includes(n))) return undefined;
    const [sourceTime, builtTime] = await Promise.all([newestMtime(UI_DIR), Promise.all(names.map(async (n) => (await stat(join(DIST_DIR, n))).mtimeMs))]);
    if (Math.min(...builtTime) < sourceTime) return undefined;
    return await Promise.all(names.map(async (name) => ({ name, contents: await readFile(join(DIST_DIR, name)) })));
  } catch {
    return undefined;
  }
}

async function loadAssets(log: Logger): Promise<Map<string, Buffer>> {
  let files = await readFreshDist();
  if (!files) {
    log.info('dashboard: gateway/dashboard/dist is missing or older than its sources; building the page in memory (npm run build writes it)');
    files = await buildDashboard();
  }
  return new Map(files.map((f) => [f.name, Buffer.from(f.contents)]));
}

export function dashboardAssets(log: Logger): express.Router {
  const assets = loadAssets(log);
  assets.catch((err: Error) => log.error({ err }, `dashboard: could not build the page: ${err.message}; run npm run build to see the full error`));
  const router = express.Router();

  const send = (name: string, res: express.Response, next: express.NextFunction) => {
    assets.then(
      (files) => {
        const body = files.get(name);
        if (!body) return next();
        const ext = name.slice(name.lastIndexOf('.'));
        res.set(PAGE_HEADERS).type(TYPES[ext] ?? 'application/octet-stream').send(body);
      },
      () => res.status(500).type('text/plain').send('The dashboard could not be built; run `npm run build` and read its error.\n'),
    );
  };
  router.get('/', (_req, res, next) => send('index.html', res, next));
  router.get('/ui/:file', (req, res, next) => send(req.params.file, res, next));
  return router;
}
