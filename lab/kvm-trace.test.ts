import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KVM_TRACE_BUFFER_KB, KVM_TRACE_EVENTS, KvmTrace, kvmTraceExcerpt, kvmTraceShellFunctions, kvmTraceSummary, labKernelRip, shutdownFilter, svmRunAddress } from './kvm-trace.js';

const exit = (tid: number, cpu: number, t: string, vcpu: number, reason: string, rip: string) =>
  `            node-${tid}    [00${cpu}] d..2.  ${t}: kvm_exit: vcpu ${vcpu} reason ${reason} rip ${rip} info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000`;
const entry = (tid: number, cpu: number, t: string, vcpu: number, rip: string) => `            node-${tid}    [00${cpu}] .....  ${t}: kvm_entry: vcpu ${vcpu}, rip ${rip}`;

const TRACE = [
  '# tracer: nop',
  '#',
  exit(501, 0, '10.000100', 2, 'io', '0xffffffff81001000'),
  entry(501, 0, '10.000200', 2, '0xffffffff81001002'),
  exit(503, 1, '10.000300', 4, 'io', '0xffffffff81002000'),
  entry(503, 1, '10.000400', 4, '0xffffffff81002002'),
  `            node-503    [001] d..2.  10.000450: kvm_inj_exception: #PF (0x2)`,
  exit(501, 0, '10.000500', 2, 'hlt', '0xffffffff81001010'),
  exit(503, 0, '10.000600', 4, 'shutdown', '0xffffffffc0201234'),
  '',
].join('\n');

describe('kvmTraceExcerpt', () => {
  it('finds the shutdown exit, its vCPU thread and what KVM did before it', () => {
    const x = kvmTraceExcerpt(TRACE)!;
    expect(x.vcpu).toBe(4);
    expect(x.rip).toBe('0xffffffffc0201234');
    // Only the faulting thread's lines (tid 503, on either lab CPU), the shutdown last.
    expect(x.lines).toHaveLength(4);
    expect(x.lines.every((l) => l.startsWith('node-503 '))).toBe(true);
    expect(x.lines.at(-1)).toContain('reason shutdown');
    expect(x.summary).toBe('L1 KVM saw vCPU 4 shut down at rip 0xffffffffc0201234; its exits before: io at 0xffffffff81002000; KVM injected: #PF (0x2)');
  });

  it('reads a VMX triple-fault exit the same way', () => {
    const text = [exit(7, 0, '1.000000', 0, 'IO_INSTRUCTION', '0xfff0'), exit(7, 0, '1.000100', 0, 'TRIPLE_FAULT', '0xe05b')].join('\n');
    expect(kvmTraceExcerpt(text)).toMatchObject({ vcpu: 0, rip: '0xe05b', summary: 'L1 KVM saw vCPU 0 shut down at rip 0xe05b; its exits before: IO_INSTRUCTION at 0xfff0' });
  });

  it('keeps at most max lines', () => {
    const many = [...Array.from({ length: 200 }, (_, i) => exit(9, 0, `2.${String(i).padStart(6, '0')}`, 1, 'io', '0x10')), exit(9, 0, '3.000000', 1, 'shutdown', '0x20')].join('\n');
    expect(kvmTraceExcerpt(many, 10)!.lines).toHaveLength(10);
  });

  it('is undefined when the trace holds no shutdown (stopped otherwise, or the ring lost it)', () => {
    expect(kvmTraceExcerpt(TRACE.replace('reason shutdown', 'reason io'))).toBeUndefined();
    expect(kvmTraceExcerpt('')).toBeUndefined();
    expect(kvmTraceExcerpt('# tracer: nop\n#\n')).toBeUndefined();
  });

  it('sums up a trace whose ring lost the shutdown exit as such, not as a clean boot', () => {
    expect(kvmTraceSummary(kvmTraceExcerpt('# tracer: nop\n'))).toBe('L1 KVM stopped its trace at a shutdown exit, but the saved ring holds none');
    expect(kvmTraceSummary(kvmTraceExcerpt(TRACE))).toMatch(/^L1 KVM saw vCPU 4 shut down/);
  });

  it('says when the faulting vCPU left no earlier exit in the ring', () => {
    expect(kvmTraceExcerpt(exit(5, 1, '4.000000', 6, 'shutdown', '0x30'))!.summary).toBe('L1 KVM saw vCPU 6 shut down at rip 0x30; no earlier exit of it in the ring');
  });
});

describe('shutdownFilter', () => {
  it('matches the SVM and VMX shutdown exits, and leaves vCPU 0 out when the boot asks for triple faults', () => {
    expect(shutdownFilter(false)).toBe('((isa == 2 && exit_reason == 127) || (isa == 1 && exit_reason == 2))');
    expect(shutdownFilter(true)).toBe('((isa == 2 && exit_reason == 127) || (isa == 1 && exit_reason == 2)) && vcpu_id != 0');
  });
});

describe('kvmTraceShellFunctions', () => {
  it('enables every event, arms a traceoff trigger on kvm_exit, and saves only a stopped trace', () => {
    const sh = kvmTraceShellFunctions();
    for (const e of KVM_TRACE_EVENTS) expect(sh).toContain(e);
    expect(sh).toContain('KT_TRIGGER="traceoff if $1"');
    expect(sh).toContain('echo "!$KT_TRIGGER"');
    expect(sh).toMatch(/"\$\(cat \$KT\/tracing_on\)" = 0 \] && \{ grep -m1 -E ' __svm_vcpu_run\(\[\[:space:\]\]\|\$\)' \/proc\/kallsyms \| sed 's\/\^\/# bootgate kallsyms: \/'; cat \$KT\/trace; \} > "\$1"/);
  });

  it('names a shutdown rip inside the lab kernel\'s __svm_vcpu_run (the header line a saved trace starts with), and only such a rip', () => {
    const header = '# bootgate kallsyms: ffffffffc041b0a0 t __svm_vcpu_run\t[kvm_amd]';
    const at = (rip: string) => kvmTraceExcerpt([header, exit(7, 0, '47.0', 7, 'vintr', rip), exit(7, 0, '49.7', 7, 'shutdown', rip)].join('\n'))!.summary;
    expect(svmRunAddress(header)).toBe(0xffffffffc041b0a0n);
    expect(at('0xffffffffc041b13c')).toMatch(/^L1 KVM saw vCPU 7 shut down at rip 0xffffffffc041b13c \(the lab kernel's own address, __svm_vcpu_run\+0x9c, right after its VMRUN: the lab's emulated SVM handed the lab kernel's state to the guest\); its exits before: vintr at 0xffffffffc041b13c/);
    expect(at('0xffffffff8a473916')).toBe('L1 KVM saw vCPU 7 shut down at rip 0xffffffff8a473916; its exits before: vintr at 0xffffffff8a473916');
    expect(at('0xffffffffc041b09f')).not.toContain('lab kernel');
    expect(kvmTraceExcerpt(exit(7, 0, '49.7', 7, 'shutdown', '0xffffffffc041b13c'))!.summary).not.toContain('lab kernel');
    expect(labKernelRip('0xffffffffc041b13c', 0n)).toBe('');
  });
});

describe('KvmTrace (a stand-in tracefs folder)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kvm-trace-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fakeTracefs = (name: string) => {
    const dir = join(root, name);
    for (const e of KVM_TRACE_EVENTS) mkdirSync(join(dir, 'events', 'kvm', e), { recursive: true });
    for (const f of ['tracing_on', 'buffer_size_kb', 'trace']) writeFileSync(join(dir, f), '');
    return dir;
  };
  const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

  it('is unavailable, saying why, where there are no kvm tracepoints', () => {
    expect(KvmTrace.open(join(root, 'none'))).toEqual({ unavailable: expect.stringContaining('no kvm tracepoints') });
  });

  it('enables every event with its ring size, arms the trigger, and returns the trace only once tracing stopped', () => {
    const dir = fakeTracefs('a');
    const t = KvmTrace.open(dir) as KvmTrace;
    expect(read(dir, 'buffer_size_kb')).toBe(String(KVM_TRACE_BUFFER_KB));
    for (const e of KVM_TRACE_EVENTS) expect(read(dir, `events/kvm/${e}/enable`)).toBe('1');
    t.arm(shutdownFilter(false));
    expect(read(dir, 'events/kvm/kvm_exit/trigger')).toBe(`traceoff if ${shutdownFilter(false)}`);
    expect(read(dir, 'tracing_on')).toBe('1');
    expect(t.stopped()).toBeUndefined();
    // The kernel's trigger fired: tracing off, the ring holds the exits.
    writeFileSync(join(dir, 'tracing_on'), '0\n');
    writeFileSync(join(dir, 'trace'), TRACE);
    expect(kvmTraceExcerpt(t.stopped()!)!.vcpu).toBe(4);
  });

  it('removes the previous trigger before arming the next one, and clears the ring', () => {
    const writes: Array<[string, string]> = [];
    const io = { exists: () => true, read: () => '1', write: (p: string, t: string) => void writes.push([p.slice('/tf/'.length), t]) };
    const t = KvmTrace.open('/tf', io) as KvmTrace;
    t.arm(shutdownFilter(false));
    writes.length = 0;
    t.arm(shutdownFilter(true));
    expect(writes).toEqual([
      ['tracing_on', '0'],
      ['events/kvm/kvm_exit/trigger', `!traceoff if ${shutdownFilter(false)}`],
      ['events/kvm/kvm_exit/trigger', `traceoff if ${shutdownFilter(true)}`],
      ['trace', ''],
      ['tracing_on', '1'],
    ]);
    expect(t.stopped()).toBeUndefined();
  });

  it('starts a stopped trace with the lab kernel\'s __svm_vcpu_run line from kallsyms', () => {
    const files: Record<string, string> = { '/proc/kallsyms': 'ffffffffc0400000 t svm_vcpu_load\t[kvm_amd]\nffffffffc041b0a0 t __svm_vcpu_run\t[kvm_amd]\n', '/tf/tracing_on': '0\n', '/tf/trace': TRACE };
    const io = { exists: (p: string) => p in files || p.startsWith('/tf'), read: (p: string) => files[p] ?? '', write: () => undefined };
    const text = (KvmTrace.open('/tf', io) as KvmTrace).stopped()!;
    expect(text.split('\n')[0]).toBe('# bootgate kallsyms: ffffffffc041b0a0 t __svm_vcpu_run\t[kvm_amd]');
    expect(svmRunAddress(text)).toBe(0xffffffffc041b0a0n);
    expect(kvmTraceExcerpt(text)!.vcpu).toBe(4);
  });
});
