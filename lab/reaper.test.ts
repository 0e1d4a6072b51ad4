// The reaper's orphan watch, for real: a Node process tracks a stand-in VM (sleep), then its parent
// shell exits (as a vitest worker is left behind when only the main process is killed),
// and the stand-in must be killed within a few seconds. Uses the built reaper from dist/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const DIST_REAPER = fileURLToPath(new URL('../dist/lab/reaper.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('lab reaper', () => {
  it.skipIf(!existsSync(DIST_REAPER))('kills its VMs when its parent goes away (orphaned worker)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-reaper-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const pids = join(dir, 'pids');
    const script = `import { spawn } from 'node:child_process'; import { writeFileSync } from 'node:fs'; import { track } from ${JSON.stringify(DIST_REAPER)};
const vm = spawn('sleep', ['60'], { stdio: 'ignore' }); track(vm);
writeFileSync(${JSON.stringify(pids)}, process.pid + ' ' + vm.pid);
setTimeout(() => process.exit(0), 20000);`;
    // The shell starts Node in the background, waits until Node is tracking its VM, then exits:
    // Node is orphaned while its VM runs.
    execFileSync('sh', ['-c', `node --input-type=module -e "$0" </dev/null >/dev/null 2>&1 & while [ ! -s ${JSON.stringify(pids)} ]; do sleep 0.1; done`, script], { timeout: 15_000 });
    let text = '';
    for (let i = 0; i < 100 && !text; i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = existsSync(pids) ? readFileSync(pids, 'utf8') : '';
    }
    const [node, vm] = text.split(' ').map(Number) as [number, number];
    try {
      expect(vm, 'the stand-in VM started').toBeGreaterThan(0);
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 100));
        gone = !alive(vm);
      }
      expect(gone, 'the orphaned process killed its VM').toBe(true);
    } finally {
      for (const pid of [node, vm]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 20_000);
});
