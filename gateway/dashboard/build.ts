import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Bundles the page (gateway/dashboard/ui) into three files: index.html, app.js and app.css (imported
// by main.ts). No framework, no CDN, no web font: the page works on an offline host.

export const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
export const DIST_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export interface BuiltFile {
  /** File name within the dashboard, e.g. "app.js". */
  name: string;
  contents: Uint8Array;
}

/** Builds the page in memory. */
export async function buildDashboard(): Promise<BuiltFile[]> {
  const result = await build({
    entryPoints: { app: join(UI_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    outdir: DIST_DIR,
    write: false,
    logLevel: 'silent',
  });
  const html = await readFile(join(UI_DIR, 'index.html'));
  return [{ name: 'index.html', contents: html }, ...result.outputFiles.map((f) => ({ name: basename(f.path), contents: f.contents }))];
}
