// L1 KVM's own trace of the exits that led to a vCPU's shutdown (a triple fault) inside the nested
// lab, as evidence for a lab boot's unrequested fault. SVM KVM resets the VMCB at a shutdown, so
// the registers a stack reads back afterwards are the INIT state and say nothing about the fault;
// the lab kernel's tracepoints (kvm:kvm_exit and friends, tracefs) still hold the guest rip of the
// shutdown exit and of every exit and injection before it.
//
// How: the batch script enables KVM_TRACE_EVENTS into a ring buffer per lab CPU, and before each
// boot arms a `traceoff` trigger on kvm_exit filtered to a shutdown exit (SVM exit code 0x7f, VMX
// basic reason 2), so the kernel stops tracing at the exit itself, before the reset and the next
// boot overwrite the ring. After the boot, a stopped trace means a shutdown the
// trigger was armed for happened: the script saves the trace text, and kvmTraceExcerpt() cuts the
// faulting vCPU thread's last lines out of it on the host. A boot that asks for triple faults
// (reboot=triple: vCPU 0 runs Linux's reboot path) arms the trigger for the other vCPUs only.
//
// The same steps in TypeScript (KvmTrace) serve a Node process inside the lab that runs the boots
// itself (the fault-rate script, both stacks), so QEMU/KVM's shutdowns are traced like the own VMM's.
//
// Left out: the trace of a second unrequested fault in the same boot (the first one stops it).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the lab job sees tracefs (the lab's init mounts it: lab/scripts.ts). */
export const TRACEFS = '/sys/kernel/tracing';

/**
 * The kvm tracepoints recorded: every exit (its rip, exit code, EXITINFO1/2 (for an NPF, the
 * guest-physical address), `exit_int_info`), every interrupt and exception KVM injected, and the
 * lab kernel's MMU-notifier invalidations (rare: what took a mapping away before an NPF). Entries
 * and the exits' decoded details (kvm_entry, kvm_pio, kvm_msr, ...) are left out: they tripled the
 * events per exit for nothing the evidence needs (docs/lab-fault-rate.md has what each cost).
 */
export const KVM_TRACE_EVENTS = ['kvm_exit', 'kvm_inj_virq', 'kvm_inj_exception', 'kvm_unmap_hva_range'] as const;

/**
 * Ring buffer per lab CPU, KiB: about 40,000 events each; with every exit's entry and details
 * recorded too, it held the last 27 s of the one SMP 8 irqtest boot measured (docs/lab-fault-rate.md).
 */
export const KVM_TRACE_BUFFER_KB = 4096;

/** kvm_exit's `isa` field: 1 VMX, 2 SVM. */
const SVM_EXIT_SHUTDOWN = 0x7f;
const VMX_EXIT_TRIPLE_FAULT = 2;

/**
 * The ftrace filter of the trigger: a shutdown exit, of any vCPU, or of any but vCPU 0 when the
 * boot asks for triple faults (they come from vCPU 0, the CPU running the guest's reboot path).
 */
export function shutdownFilter(requestedTripleFaults: boolean): string {
  const shutdown = `((isa == 2 && exit_reason == ${SVM_EXIT_SHUTDOWN}) || (isa == 1 && exit_reason == ${VMX_EXIT_TRIPLE_FAULT}))`;
  return requestedTripleFaults ? `${shutdown} && vcpu_id != 0` : shutdown;
}

/**
 * Shell functions for a lab job (busybox ash, root): `kvm_trace_setup` (buffer, events;
 * leaves KT empty and says why on stderr when the lab kernel has no kvm tracepoints),
 * `kvm_trace_arm FILTER` (clear the ring, set the trigger, trace), `kvm_trace_save FILE` (write
 * the trace to FILE when the trigger stopped it; nothing otherwise). With KT_STATE set to a file,
 * the armed trigger is kept there for the next shell's setup: the kernel refuses a second
 * `traceoff` trigger, so a shell that did not arm the standing one must still remove it (a lab
 * series' runner, and its shell, start again after a boot that did not end cleanly).
 */
export function kvmTraceShellFunctions(): string {
  const trigger = '$KT/events/kvm/kvm_exit/trigger';
  return `KT=
KT_TRIGGER=
kvm_trace_setup() {
  KT=${TRACEFS}
  if [ ! -d $KT/events/kvm ]; then echo "bootgate lab: no kvm tracepoints in $KT; shutdowns are not traced" >&2; KT=; return 0; fi
  echo 0 > $KT/tracing_on
  echo ${KVM_TRACE_BUFFER_KB} > $KT/buffer_size_kb
  for e in ${KVM_TRACE_EVENTS.join(' ')}; do echo 1 > $KT/events/kvm/$e/enable; done
  [ -z "$KT_STATE" ] || KT_TRIGGER=$(cat "$KT_STATE" 2>/dev/null)
}
kvm_trace_arm() {
  [ -n "$KT" ] || return 0
  echo 0 > $KT/tracing_on
  [ -z "$KT_TRIGGER" ] || echo "!$KT_TRIGGER" > ${trigger}
  KT_TRIGGER="traceoff if $1"
  echo "$KT_TRIGGER" > ${trigger}
  [ -z "$KT_STATE" ] || echo "$KT_TRIGGER" > "$KT_STATE"
  echo > $KT/trace
  echo 1 > $KT/tracing_on
}
kvm_trace_save() {
  [ -n "$KT" ] && [ "$(cat $KT/tracing_on)" = 0 ] && { grep -m1 -E ' ${SVM_RUN_SYMBOL}([[:space:]]|$)' /proc/kallsyms | sed 's/^/${SVM_RUN_HEADER}/'; cat $KT/trace; } > "$1"
  return 0
}
`;
}

/**
 * The lab kernel's SVM entry (arch/x86/kvm/svm/vmenter.S): a saved trace starts with its
 * /proc/kallsyms line, so a shutdown rip inside it is recognised as the lab kernel's own address.
 * In the lab's kvm-amd (6.1.0-50) the instruction after VMRUN is __svm_vcpu_run+0x9c, page
 * offset 0x13c, the rip every such fault so far shut down at (docs/lab-fault-rate.md).
 */
const SVM_RUN_SYMBOL = '__svm_vcpu_run';
const SVM_RUN_HEADER = '# bootgate kallsyms: ';
/** How far past the symbol a rip counts as inside it (the function is about 0x200 bytes). */
const SVM_RUN_SPAN = 0x400;

/** Where __svm_vcpu_run was in the lab kernel that wrote the trace (its header line), if known. */
export function svmRunAddress(text: string): bigint | undefined {
  const m = new RegExp(`^${SVM_RUN_HEADER}([0-9a-f]{16}) \\S ${SVM_RUN_SYMBOL}\\b`, 'm').exec(text);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** A rip inside the lab kernel's __svm_vcpu_run, said as such ('' when it is not, or unknown). */
export function labKernelRip(rip: string, svmRun: bigint | undefined): string {
  if (svmRun === undefined || svmRun === 0n) return '';
  const off = BigInt(rip) - svmRun;
  if (off < 0n || off >= BigInt(SVM_RUN_SPAN)) return '';
  return ` (the lab kernel's own address, ${SVM_RUN_SYMBOL}+0x${off.toString(16)}, right after its VMRUN: the lab's emulated SVM handed the lab kernel's state to the guest)`;
}

/** One line of the trace text: `<comm>-<tid> [cpu] flags timestamp: event: detail`. */
const LINE = /^\s*(.*?)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)$/;
const SHUTDOWN_EXIT = /vcpu (\d+) reason (shutdown|TRIPLE_FAULT) rip (0x[0-9a-f]+)/;
const EXIT = /reason (\S+) rip (0x[0-9a-f]+)/;

export interface KvmTraceExcerpt {
  vcpu: number;
  /** The guest rip KVM recorded at the shutdown exit. */
  rip: string;
  /** The faulting vCPU thread's last trace lines, the shutdown exit last (at most `max`). */
  lines: string[];
  /** One line for a report: the shutdown's rip, the exits before it, what KVM injected. */
  summary: string;
}

/**
 * The last shutdown exit in a saved trace, with its vCPU thread's lines before it; undefined when
 * the text has none (the trace stopped for another reason, or the ring lost it).
 */
export function kvmTraceExcerpt(text: string, max = 80): KvmTraceExcerpt | undefined {
  const lines = text.split('\n');
  let at = -1;
  let m: RegExpExecArray | null = null;
  for (let i = lines.length - 1; i >= 0 && at < 0; i--) {
    const l = LINE.exec(lines[i]!);
    if (l?.[5] === 'kvm_exit' && (m = SHUTDOWN_EXIT.exec(l[6]!))) at = i;
  }
  if (at < 0 || m === null) return undefined;
  const tid = LINE.exec(lines[at]!)![2]!;
  const mine: string[] = [];
  for (let i = at; i >= 0 && mine.length < max; i--) {
    const l = LINE.exec(lines[i]!);
    if (l?.[2] === tid) mine.push(lines[i]!.trim());
  }
  mine.reverse();
  const exits: string[] = [];
  const injected: string[] = [];
  for (const line of mine.slice(0, -1)) {
    const l = LINE.exec(line)!;
    if (l[5] === 'kvm_exit') {
      const e = EXIT.exec(l[6]!);
      if (e) exits.push(`${e[1]} at ${e[2]}`);
    } else if (l[5] === 'kvm_inj_exception' || l[5] === 'kvm_inj_virq') injected.push(l[6]!.trim());
  }
  const vcpu = Number(m[1]);
  const summary =
    `L1 KVM saw vCPU ${vcpu} shut down at rip ${m[3]}${labKernelRip(m[3]!, svmRunAddress(text))}` +
    (exits.length > 0 ? `; its exits before: ${exits.slice(-4).join(', ')}` : '; no earlier exit of it in the ring') +
    (injected.length > 0 ? `; KVM injected: ${injected.slice(-3).join(', ')}` : '');
  return { vcpu, rip: m[3]!, lines: mine, summary };
}

/** What a stopped trace says about its shutdown in one line, also when the ring lost the exit. */
export function kvmTraceSummary(excerpt: KvmTraceExcerpt | undefined): string {
  return excerpt?.summary ?? 'L1 KVM stopped its trace at a shutdown exit, but the saved ring holds none';
}

/** File access KvmTrace uses (the real tracefs, or a test's record of writes). */
export interface TraceIo {
  exists(path: string): boolean;
  read(path: string): string;
  write(path: string, text: string): void;
}
const FS_IO: TraceIo = { exists: existsSync, read: (p) => readFileSync(p, 'utf8'), write: (p, t) => writeFileSync(p, t) };
const TRIGGER = join('events', 'kvm', 'kvm_exit', 'trigger');
const KALLSYMS = '/proc/kallsyms';

/** kvm_trace_setup / _arm / _save for a Node process in the lab (root): see the header. */
export class KvmTrace {
  private trigger: string | undefined;

  private constructor(
    private readonly dir: string,
    private readonly io: TraceIo,
  ) {}

  /** Tracing set up, or why not (no tracefs or no kvm tracepoints: not in the lab). */
  static open(dir = TRACEFS, io: TraceIo = FS_IO): KvmTrace | { unavailable: string } {
    if (!io.exists(join(dir, 'events', 'kvm'))) return { unavailable: `no kvm tracepoints under ${dir} (tracefs not mounted, or kvm not loaded)` };
    const t = new KvmTrace(dir, io);
    t.write('tracing_on', '0');
    t.write('buffer_size_kb', String(KVM_TRACE_BUFFER_KB));
    for (const e of KVM_TRACE_EVENTS) t.write(join('events', 'kvm', e, 'enable'), '1');
    return t;
  }

  /** Clear the ring, stop at the next exit matching `filter` (shutdownFilter()), trace. */
  arm(filter: string): void {
    this.write('tracing_on', '0');
    if (this.trigger !== undefined) this.write(TRIGGER, `!${this.trigger}`);
    this.trigger = `traceoff if ${filter}`;
    this.write(TRIGGER, this.trigger);
    this.write('trace', '');
    this.write('tracing_on', '1');
  }

  /** The trace text when the trigger stopped it since arm(), else undefined. */
  stopped(): string | undefined {
    if (this.io.read(join(this.dir, 'tracing_on')).trim() !== '0') return undefined;
    const sym = this.io.exists(KALLSYMS) ? new RegExp(`^.* ${SVM_RUN_SYMBOL}\\b.*$`, 'm').exec(this.io.read(KALLSYMS))?.[0] : undefined;
    return `${sym ? `${SVM_RUN_HEADER}${sym}\n` : ''}${this.io.read(join(this.dir, 'trace'))}`;
  }

  private write(file: string, text: string): void {
    this.io.write(join(this.dir, file), text);
  }
}
