#!/usr/bin/env node
// Thin launcher: runs the compiled CLI (build it with `npm run build`, which `npm test` does).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/vmm/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('bootgate: E_CONFIG: the CLI is not built (fix: run npm run build)\n');
  process.exit(2);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
