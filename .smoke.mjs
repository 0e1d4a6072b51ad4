import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { KvmAccelerator } from './dist/vmm/accel/kvm/kvm-vm.js';
import { KvmVcpu } from './dist/vmm/accel/kvm/kvm-vcpu.js';
import { allocateHostMemory } from './dist/vmm/memory/host-memory.js';
if (isMainThread) {
  const acc = new KvmAccelerator();
  const vm = acc.createVm({ vcpus: 1 });
  const img = readFileSync('/tmp/smoke/loop.bin');
  const rom = allocateHostMemory(img.length, 'rom'); rom.bytes.set(img);
  const ram = allocateHostMemory(2 << 20, 'ram');
  vm.mapMemory({ slot: 0, gpa: 0, size: 2 << 20, hostAddress: ram.address, flags: { read: true, write: true, exec: true }, name: 'ram' });
  vm.mapMemory({ slot: 1, gpa: 2 ** 32 - img.length, size: img.length, hostAddress: rom.address, flags: { read: true, write: false, exec: true }, name: 'rom' });
  const w = new Worker(new URL(import.meta.url), { workerData: { fd: vm.vcpuHandles[0], mmapSize: acc.vcpuMmapSize } });
  w.on('message', (m) => { console.log(m); });
  w.on('error', (e) => console.log('err', e));
} else {
  const v = new KvmVcpu(workerData.fd, 0, workerData.mmapSize);
  let n = 0, first = 0, last = 0;
  for (;;) {
    const k = v.run();
    const e = v.exit;
    if (k === 1 && e.port === 0x80) { const t = performance.now(); if (!n) first = t; last = t; n++; continue; }
    parentPort.postMessage({ kind: k, port: e.port, n, rtUs: (last - first) * 1000 / (n - 1), regs: k > 1 ? v.dumpRegisters() : undefined });
    break;
  }
}
