#!/usr/bin/env node
// Builds the KVM backend's native vCPU threads (vmm/accel/kvm/native/*.c: vcpu-loop.c,
// kept-exits.c) into dist/native/libbootgate-vcpu.so with the host's gcc (a tool every bootstrap profile installs).
// Linux only: the library drives KVM_RUN; on another host there is nothing to build. Rebuilt only
// when a source or header is newer than the library. Run after `tsc -p .` (bootstrap and
// `npm run build`).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'vmm', 'accel', 'kvm', 'native');
const files = readdirSync(dir).filter((f) => f.endsWith('.c') || f.endsWith('.h')).map((f) => join(dir, f));
const sources = files.filter((f) => f.endsWith('.c')).sort();
const output = join(root, 'dist', 'native', 'libbootgate-vcpu.so');

if (process.platform !== 'linux') process.exit(0);
if (existsSync(output)) {
  const built = statSync(output).mtimeMs;
  if (files.every((f) => built >= statSync(f).mtimeMs)) process.exit(0);
}
mkdirSync(dirname(output), { recursive: true });
const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-pthread', '-o', output, ...sources];
const r = spawnSync('gcc', args, { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  process.stderr.write(`build-native: gcc ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`}); install gcc and the libc headers (apt-get install gcc libc6-dev)\n`);
  process.exit(1);
}
