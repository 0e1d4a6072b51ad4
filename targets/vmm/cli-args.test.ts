import { describe, expect, it } from 'vitest';
import { cliArgs } from './target.js';

describe('the own VMM command line a boot request becomes', () => {
  it('passes --vcpu-threads only when the request names it', () => {
    const base = { smp: 2, timeoutS: 10 };
    expect(cliArgs(base, '/e.jsonl')).not.toContain('--vcpu-threads');
    const args = cliArgs({ ...base, vcpuThreads: 'worker' }, '/e.jsonl');
    expect(args.slice(args.indexOf('--vcpu-threads'), args.indexOf('--vcpu-threads') + 2)).toEqual(['--vcpu-threads', 'worker']);
  });
});
