// What a thread that did not stop when asked is doing, read from /proc (Linux): its scheduler
// state, the kernel function it sleeps in and the system call it is in. A vCPU thread that
// ignores its kicks is either inside the accelerator (ioctl KVM_RUN that does not return: the
// host kernel's fault) or in our own code (a loop or a wait that misses the stop: ours); this
// line tells the two apart in the report instead of leaving a process that never ends.

import { readFileSync } from 'node:fs';

/** x86-64 system call numbers worth naming in the report. */
const SYSCALLS: Record<number, string> = { 16: 'ioctl', 202: 'futex', 7: 'poll', 0: 'read', 1: 'write', 35: 'nanosleep', 232: 'epoll_wait' };
/** KVM ioctl request codes worth naming (include/uapi/linux/kvm.h). */
const KVM_IOCTLS: Record<number, string> = { 0xae80: 'KVM_RUN' };

/**
 * One line from the contents of /proc/<pid>/task/<tid>/{stat,wchan,syscall} (any may be missing:
 * reading them needs the same user, and a thread that ended has none).
 */
export function formatThreadState(stat: string | undefined, wchan: string | undefined, syscall: string | undefined): string {
  const parts: string[] = [];
  // stat: "tid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses).
  const state = stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  if (state) parts.push(`state ${state}`);
  if (syscall !== undefined) {
    const f = syscall.trim().split(/\s+/);
    if (f[0] === 'running') parts.push('running in user space or the guest');
    else if (f[0] !== undefined && /^-?\d+$/.test(f[0])) {
      const nr = Number(f[0]);
      const name = SYSCALLS[nr] ?? `system call ${nr}`;
      const req = nr === 16 && f[2] !== undefined ? KVM_IOCTLS[Number(f[2]) & 0xffff] : undefined;
      parts.push(`in ${name}${req ? ` ${req}` : ''}`);
    }
  }
  if (wchan !== undefined && wchan.trim() !== '' && wchan.trim() !== '0') parts.push(`sleeping in ${wchan.trim()}`);
  return parts.length > 0 ? parts.join(', ') : 'its state could not be read';
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** The state of thread `tid` of this process (see formatThreadState). */
export function describeThread(tid: number): string {
  const dir = `/proc/self/task/${tid}`;
  return formatThreadState(readOrUndefined(`${dir}/stat`), readOrUndefined(`${dir}/wchan`), readOrUndefined(`${dir}/syscall`));
}
