// `npm run build`: writes the operator dashboard to gateway/dashboard/dist/. The build itself lives
// in gateway/dashboard/build.ts (the gateway also uses it when dist is missing or stale).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const { buildDashboard, DIST_DIR } = await tsImport('../gateway/dashboard/build.ts', import.meta.url);
const files = await buildDashboard();
await rm(DIST_DIR, { recursive: true, force: true });
await mkdir(DIST_DIR, { recursive: true });
for (const f of files) await writeFile(join(DIST_DIR, f.name), f.contents);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`dashboard built in ${DIST_DIR}: ${files.map((f) => `${f.name} ${kib(f.contents.length)}`).join(', ')}`);
