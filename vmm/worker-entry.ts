// Where the VMM's worker threads start: the bundle scripts/bundle-workers.mjs writes after tsc. A
// worker then loads a handful of files instead of its ~40-90 modules, which is most of a vCPU
// thread's start in the nested lab.

import { existsSync } from 'node:fs';
import { BootgateError } from './errors.js';

export function workerEntry(): URL {
  const url = new URL('./vcpu/worker-bundle/worker-main.js', import.meta.url);
  if (!existsSync(url)) {
    throw new BootgateError('E_INTERNAL', `the VMM's worker bundle ${url.pathname} is missing`, {
      hint: 'run npm run build (tsc, then scripts/bundle-workers.mjs)',
    });
  }
  return url;
}
