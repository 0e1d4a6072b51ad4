// `node dist/targets/boot-to-json.js --target NAME --request REQ.json --result OUT.json`: one boot
// of a named target, its BootResult written as JSON. A lab batch (targets/vmm/lab-batch.ts) runs
// this inside the nested lab for targets that are not the own VMM (`qemu:kvm@lab`): the own VMM
// streams its events to a file the host parses, QEMU's result is assembled by the QEMU driver in
// the lab (QMP, the memory tree, the high BIOS copy) and only the finished result crosses the share.
// The result file is written whole (temporary file, then rename), so a half-written file never
// counts as a finished boot. Exit 0 once the result is written, whatever the boot's verdict;
// exit 2 for a bad request, 1 when the target threw (the error on stderr, no result file).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BootgateError } from '../vmm/errors.js';
import { selectedTargets } from './index.js';
import type { BootRequest } from './target.js';

export async function bootToJson(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { target: { type: 'string' }, request: { type: 'string' }, result: { type: 'string' } }, strict: true });
  if (!values.target || !values.request || !values.result) {
    throw new BootgateError('E_CONFIG', 'boot-to-json needs --target NAME --request REQ.json --result OUT.json');
  }
  const req = JSON.parse(readFileSync(values.request, 'utf8')) as BootRequest;
  const [target] = selectedTargets({ ...process.env, BOOTGATE_TARGETS: values.target });
  const result = await target!.boot(req);
  const tmp = `${values.result}.partial`;
  writeFileSync(tmp, JSON.stringify(result));
  renameSync(tmp, values.result);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bootToJson(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof BootgateError ? e.toLine() : e);
      process.exit(e instanceof BootgateError && e.code === 'E_CONFIG' ? 2 : 1);
    },
  );
}
