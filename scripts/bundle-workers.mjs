#!/usr/bin/env node
// Bundles the VMM's worker entry (dist/vmm/vcpu/worker-main.js, built by tsc) into a few files
// under dist/vmm/vcpu/worker-bundle/: the entry, one chunk per role (device owner, vCPU thread) and
// the modules they share. Why: every VMM worker is a fresh Node isolate that loads its module
// graph from scratch, and loading ~90 small ES modules one by one costs more than the code in
// them. In the nested lab (QEMU TCG) one vCPU thread took ~1.25 s of CPU to start, half of it
// the module graph; bundled, eight vCPU threads start on ~35 % less CPU (docs/vcpu-layer.md,
// "Worker start-up"). The bundle is not minified, so stack traces stay readable.
//
// Run after `tsc -p .` (scripts/bootstrap.mjs does both; so does `npm run build`).

import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'vmm', 'vcpu', 'worker-main.js');
const outDir = join(root, 'dist', 'vmm', 'vcpu', 'worker-bundle');

function fail(message) {
  process.stderr.write(`bundle-workers: ${message}\n`);
  process.exit(1);
}

if (!existsSync(entry)) fail(`${entry} is missing; run tsc -p . first`);
let rolldown;
try {
  rolldown = await import('rolldown');
} catch (e) {
  fail(`cannot load the bundler (rolldown, a devDependency): ${e.message}; run npm ci`);
}
rmSync(outDir, { recursive: true, force: true });
const warnings = [];
await rolldown.build({
  input: { 'worker-main': entry },
  platform: 'node',
  // Packages stay imports: koffi is a native addon, and node_modules resolves from dist/ as before.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  onLog: (level, log) => {
    // A dynamic import of a module some other module also imports statically stays in that chunk: expected.
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') warnings.push(`${level}: ${log.message}`);
  },
  output: { dir: outDir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
for (const w of warnings) process.stderr.write(`bundle-workers: ${w}\n`);
if (!existsSync(join(outDir, 'worker-main.js'))) fail(`the bundler wrote no ${join(outDir, 'worker-main.js')}`);
