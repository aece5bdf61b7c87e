import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// The gateway (data plane) declares what it needs in gateway/types.ts and imports nothing from the
// orchestrator, the Docker images or the scripts: this reads every import of every gateway file.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GATEWAY = join(ROOT, 'gateway');
const FORBIDDEN = ['orchestrator', 'docker', 'scripts'].map((dir) => join(ROOT, dir));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** "gateway/x.ts:3 imports '../orchestrator/log.ts'" for each import of `file` that resolves into a forbidden folder. */
function forbiddenImports(file: string, text: string): string[] {
  // preProcessFile finds static imports, re-exports and dynamic import() calls, and skips comments.
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .filter(({ fileName }) => {
      if (!fileName.startsWith('.') && !fileName.startsWith('/')) return false; // a package or a node: builtin
      const target = resolve(dirname(file), fileName);
      return FORBIDDEN.some((dir) => target === dir || target.startsWith(dir + sep));
    })
    .map(({ fileName, pos }) => `${relative(ROOT, file)}:${text.slice(0, pos).split('\n').length} imports '${fileName}'`);
}

test('the gateway imports nothing from orchestrator/, docker/ or scripts/', () => {
  const files = tsFiles(GATEWAY);
  assert.ok(files.length > 20, `found only ${files.length} .ts files under gateway/`);
  const offenders = files.flatMap((file) => forbiddenImports(file, readFileSync(file, 'utf8')));
  assert.deepEqual(offenders, [], `gateway/ may import only from gateway/, packages and node: (declare what it needs in gateway/types.ts):\n  ${offenders.join('\n  ')}`);
});

test('the check finds imports of every form, with their lines, and ignores comments and packages', () => {
  const text = [
    "import { log } from '../orchestrator/log.ts';",
    '// import { x } from "../orchestrator/commented-out.ts";',
    'export type {',
    '  Limits,',
    "} from '../orchestrator/config/types.ts';",
    "const lazy = await import('../scripts/bench/main.ts');",
    "import express from 'express';",
    "import { Accounting } from './accounting.ts';",
    "import type { Engine } from '../../docker/tgi-sim/engine.ts';",
  ].join('\n');
  assert.deepEqual(forbiddenImports(join(GATEWAY, 'probe.ts'), text), [
    "gateway/probe.ts:1 imports '../orchestrator/log.ts'",
    "gateway/probe.ts:5 imports '../orchestrator/config/types.ts'",
    "gateway/probe.ts:6 imports '../scripts/bench/main.ts'",
  ]);
  // Specifiers are resolved, not matched: from gateway/dashboard/, ../orchestrator is gateway/orchestrator.
  assert.deepEqual(forbiddenImports(join(GATEWAY, 'dashboard', 'probe.ts'), text), ["gateway/dashboard/probe.ts:9 imports '../../docker/tgi-sim/engine.ts'"]);
});
