// The real `pc` device set (machine/pc-devices.ts buildPc, the same code the VMM runs) assembled
// on a FakeVm for the fuzzer, with every byte a device can touch in a guarded buffer and the one
// guest-memory accessor instrumented: each readGuest/writeGuest call is checked against the RAM
// layout independently of the Machine's own bounds check, so a device that reached outside guest
// RAM (or a Machine check that let it) is an out-of-bounds finding, not a silent slice.
// `setupLikeFirmware()` enumerates bus 0 and places every BAR the way SeaBIOS does (I/O from
// 0xc000, 32-bit memory in the PCI hole, 64-bit memory above RAM), programs PMBASE and the PIRQ
// routes, so MMIO and bus-master DMA are reachable from the first op.
// Two layouts: `seabios` (a 256 KiB BIOS with its high copy and PAM) and `ovmf` (pflash CODE and
// VARS, CFI01 in ROMD mode).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmConfig } from '../config.js';
import { getLE, setLE } from '../devices/device.js';
import { IDE_PRIMARY_COMMAND_BASE, IDE_SECONDARY_COMMAND_BASE, IDETIM_DECODE_ENABLE, IDETIM_PRIMARY, IDETIM_SECONDARY } from '../devices/ide/piix-ide.js';
import { BM_CHANNEL_STRIDE, BM_CMD_START, BM_CMD_TO_MEMORY, BM_COMMAND, BM_PRD_TABLE, BM_STATUS } from '../devices/ide/bmdma.js';
import { CMD_READ_DMA, CMD_WRITE_DMA, DEVICE_LBA } from '../devices/ide/ata-regs.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../devices/pci/pci-function.js';
import { SeabiosPci } from '../devices/pci/pci-firmware-sim.js';
import { PIIX_PIRQ_ROUTE } from '../devices/pci/piix3.js';
import { PIIX4_PMBASE, PIIX4_PMREGMISC } from '../devices/pci/piix4-pm.js';
import { FOUR_GIB } from '../layout.js';
import { buildPc, type PcBuild } from '../machine/pc-devices.js';
import { FakeVm } from './fake-vm.js';
import { acquireGuarded, GuardedBytes, releaseGuarded } from './guarded-memory.js';
import type { Op } from './ops.js';

export type FuzzLayout = 'seabios' | 'ovmf';

/** RAM below 4 GiB and above it: small, so a DMA can straddle the end of low RAM, the hole and high RAM. */
export const FUZZ_RAM_BELOW_4G = 2 * 2 ** 20;
export const FUZZ_RAM_ABOVE_4G = 2 ** 20;
const BIOS_SIZE = 256 * 1024;
const OVMF_CODE_SIZE = 512 * 1024;
const OVMF_VARS_SIZE = 128 * 1024;
const DISK_SECTORS = 64;
/** Where setupLikeFirmware puts I/O BARs and the PM block (SeaBIOS: 0xc000 up; PMBASE 0x600). */
const IO_BAR_BASE = 0xc000;
const MEM32_BAR_BASE = 0xe000_0000;
const MEM64_BAR_BASE = 2 ** 40;
const PCI_COMMAND_MASTER = 0x0004;
const PM_BASE = 0x600;
const PCI_CONFIG_ADDRESS = 0xcf8;
const PCI_CONFIG_DATA = 0xcfc;
const FWCFG_DMA_HIGH_PORT = 0x514;
const FWCFG_DMA_LOW_PORT = 0x518;

/** Test devices on the fuzzed machine: every BAR kind (I/O, 32-bit, 64-bit prefetchable). */
export const FUZZ_TEST_DEVICES = ['io:256,mem32:64K,mem64pref:1G', 'mem32:4K'];


export class FuzzPc {
  readonly vm = new FakeVm();
  readonly pc: PcBuild;
  readonly ram = acquireGuarded('guest RAM', FUZZ_RAM_BELOW_4G + FUZZ_RAM_ABOVE_4G);
  readonly firmware: GuardedBytes;
  readonly vars: GuardedBytes | undefined;
  /** The buffers a PIO/MMIO access hands the device, one per size with guards on both sides, so a
   * device that writes one byte past its access size is caught. */
  private readonly exitBuffers = new Map([1, 2, 4, 8].map((n) => [n, new GuardedBytes(`${n}-byte exit buffer`, n, 16)]));
  /** Guest-memory accesses the devices made outside guest RAM that were served anyway: always a defect. */
  readonly outOfBounds: string[] = [];
  constructor(readonly layout: FuzzLayout) {
    const disk = scratchDisk();
    this.firmware = acquireGuarded(layout === 'ovmf' ? 'pflash CODE' : 'BIOS image', layout === 'ovmf' ? OVMF_CODE_SIZE : BIOS_SIZE);
    this.firmware.bytes.fill(0xf4);
    this.vars = layout === 'ovmf' ? acquireGuarded('pflash VARS', OVMF_VARS_SIZE) : undefined;
    this.vars?.bytes.fill(0xff);
    const config: VmConfig = {
      target: 'vmm:kvm',
      smp: 2,
      memMiB: (FUZZ_RAM_BELOW_4G + FUZZ_RAM_ABOVE_4G) / 2 ** 20,
      quirks: [],
      timeoutS: 1,
      debugcon: false,
      pciTestDevices: FUZZ_TEST_DEVICES,
      irqTestDevice: true,
      disk,
    };
    this.pc = buildPc({
      vm: this.vm,
      config,
      firmware: this.firmware.asHostMemory(),
      vars: this.vars?.asHostMemory(),
      ram: this.ram.asHostMemory(),
      ramBelow4G: FUZZ_RAM_BELOW_4G,
      ramAbove4G: FUZZ_RAM_ABOVE_4G,
      emit: () => {},
      pmTimerEpochMs: 0,
    });
    this.instrumentAccessor();
  }

  /** Close the disk (the image itself is shared and removed when the process exits). */
  close(): void {
    this.pc.disk?.close();
    for (const g of [this.ram, this.firmware, this.vars]) if (g) releaseGuarded(g);
  }

  private isRam(gpa: number, length: number): boolean {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return false;
    return gpa + length <= FUZZ_RAM_BELOW_4G || (gpa >= FOUR_GIB && gpa + length <= FOUR_GIB + FUZZ_RAM_ABOVE_4G);
  }

  /** Wrap the Machine's accessor: every device reaches guest memory through these two calls. */
  private instrumentAccessor(): void {
    const m = this.pc.machine;
    const read = m.readGuest.bind(m);
    const write = m.writeGuest.bind(m);
    // A call the Machine refuses throws on to the device (which must handle it); one it serves must be RAM.
    const check = (what: string, gpa: number, length: number): void => {
      if (!this.isRam(gpa, length)) this.outOfBounds.push(`${what} of ${length} bytes at 0x${gpa.toString(16)} was served outside guest RAM`);
    };
    m.readGuest = (gpa, length) => {
      const out = read(gpa, length);
      check('read', gpa, length);
      return out;
    };
    m.writeGuest = (gpa, bytes) => {
      write(gpa, bytes);
      check('write', gpa, bytes.length);
    };
  }

  /** Guard damage around the exit buffer (cheap: checked after every op), or undefined. */
  exitBufferDamage(): string | undefined {
    for (const b of this.exitBuffers.values()) {
      const d = b.damage();
      if (d) return d;
    }
    return undefined;
  }

  private access(size: number): Uint8Array {
    return this.exitBuffers.get(size)!.bytes;
  }

  /** Guard damage anywhere (RAM, firmware, VARS, exit buffer), or undefined: checked after a sequence. */
  damage(): string | undefined {
    return this.ram.damage() ?? this.firmware.damage() ?? this.vars?.damage() ?? this.exitBufferDamage();
  }

  // --- the guest's instructions ---

  in(port: number, size: 1 | 2 | 4): number {
    const data = this.access(size);
    data.fill(0);
    this.pc.machine.pio.read(port, data);
    return getLE(data);
  }

  out(port: number, size: 1 | 2 | 4, value: number): void {
    const data = this.access(size);
    setLE(data, value);
    this.pc.machine.pio.write(port, data);
  }

  mmioRead(gpa: number, size: 1 | 2 | 4 | 8): number {
    const data = this.access(size);
    data.fill(0);
    this.pc.machine.mmio.read(gpa, data);
    return getLE(data);
  }

  mmioWrite(gpa: number, size: 1 | 2 | 4 | 8, value: number): void {
    const data = this.access(size);
    setLE(data, value);
    this.pc.machine.mmio.write(gpa, data);
  }

  cfgRead(dev: number, fn: number, reg: number, size: 1 | 2 | 4): number {
    this.out(PCI_CONFIG_ADDRESS, 4, configAddress(dev, fn, reg));
    return this.in(PCI_CONFIG_DATA + (reg & 3), size);
  }

  cfgWrite(dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void {
    this.out(PCI_CONFIG_ADDRESS, 4, configAddress(dev, fn, reg));
    this.out(PCI_CONFIG_DATA + (reg & 3), size, value);
  }

  /** A guest store to RAM (no device involved); dropped where `gpa` is not RAM, as the CPU's would fault. */
  storeRam(gpa: number, bytes: Uint8Array): void {
    if (!this.isRam(gpa, bytes.length)) return;
    const off = gpa < FOUR_GIB ? gpa : FUZZ_RAM_BELOW_4G + (gpa - FOUR_GIB);
    this.ram.bytes.set(bytes, off);
  }

  /** Run one op; a reset or power-off the devices asked for is carried out as the device owner does. */
  exec(op: Op): number | undefined {
    let value: number | undefined;
    switch (op.k) {
      case 'in':
        value = this.in(op.port, op.size);
        break;
      case 'out':
        this.out(op.port, op.size, op.value);
        break;
      case 'mmio-read':
        value = this.mmioRead(op.gpa, op.size);
        break;
      case 'mmio-write':
        this.mmioWrite(op.gpa, op.size, op.value);
        break;
      case 'cfg-read':
        value = this.cfgRead(op.dev, op.fn, op.reg, op.size);
        break;
      case 'cfg-write':
        this.cfgWrite(op.dev, op.fn, op.reg, op.size, op.value);
        break;
      case 'fwcfg-dma':
        this.fwcfgDma(op);
        break;
      case 'ide-dma':
        this.ideDma(op);
        break;
      case 'reset':
        this.pc.machine.requestReset('fuzz');
        break;
    }
    this.settle();
    return value;
  }

  private fwcfgDma(op: Extract<Op, { k: 'fwcfg-dma' }>): void {
    const d = new Uint8Array(16);
    const v = new DataView(d.buffer);
    v.setUint32(0, op.control >>> 0);
    v.setUint32(4, op.length >>> 0);
    v.setUint32(8, op.addressHigh >>> 0);
    v.setUint32(12, op.addressLow >>> 0);
    this.storeRam(op.at, d);
    // The doorbell is big-endian: write the bytes as the guest's bswap+outl leaves them.
    this.out(FWCFG_DMA_HIGH_PORT, 4, bswap32(Math.floor(op.at / FOUR_GIB) >>> 0));
    this.out(FWCFG_DMA_LOW_PORT, 4, bswap32(op.at >>> 0));
  }

  private ideDma(op: Extract<Op, { k: 'ide-dma' }>): void {
    const table = new Uint8Array(8 * op.prds.length);
    const v = new DataView(table.buffer);
    op.prds.forEach((p, i) => {
      v.setUint32(8 * i, p.gpa >>> 0, true);
      v.setUint16(8 * i + 4, p.bytes & 0xffff, true);
      v.setUint16(8 * i + 6, p.last ? 0x8000 : 0, true);
    });
    this.storeRam(op.table, table);
    const bm = (this.cfgRead(1, 1, PCI_BASE_ADDRESS_0 + 16, 4) & ~3) + op.channel * BM_CHANNEL_STRIDE;
    const cmd = op.channel === 0 ? IDE_PRIMARY_COMMAND_BASE : IDE_SECONDARY_COMMAND_BASE;
    this.out(bm + BM_PRD_TABLE, 4, op.table >>> 0);
    this.out(bm + BM_STATUS, 1, 0x06);
    this.out(cmd + 6, 1, DEVICE_LBA | ((op.lba >>> 24) & 0x0f));
    this.out(cmd + 2, 1, op.sectors & 0xff);
    this.out(cmd + 3, 1, op.lba & 0xff);
    this.out(cmd + 4, 1, (op.lba >>> 8) & 0xff);
    this.out(cmd + 5, 1, (op.lba >>> 16) & 0xff);
    this.out(cmd + 7, 1, op.toMemory ? CMD_READ_DMA : CMD_WRITE_DMA);
    this.out(bm + BM_COMMAND, 1, BM_CMD_START | (op.toMemory ? BM_CMD_TO_MEMORY : 0));
    this.in(bm + BM_STATUS, 1);
    this.in(cmd + 7, 1);
    this.out(bm + BM_COMMAND, 1, 0);
  }

  /** Carry out a pending reset (devices to power-on, memory map back) or forget a power-off. */
  private settle(): void {
    const m = this.pc.machine;
    const pending = m.pending;
    if (!pending) return;
    m.pending = null;
    if (pending.kind === 'power-off') return;
    this.pc.memoryMap.mapAll(this.vm);
    m.resetDevices();
  }

  /**
   * Place BARs, enable decode and bus mastering, program PMBASE and PIRQ routes, enable the IDE
   * channels: what SeaBIOS leaves before a guest driver runs.
   */
  setupLikeFirmware(): void {
    // Enumeration and BAR sizing as SeaBIOS does them (pci-firmware-sim.ts), through this machine's PIO bus.
    const sea = new SeabiosPci({
      outb: (v, p) => this.out(p, 1, v),
      outw: (v, p) => this.out(p, 2, v),
      outl: (v, p) => this.out(p, 4, v),
      inb: (p) => this.in(p, 1),
      inw: (p) => this.in(p, 2),
      inl: (p) => this.in(p, 4),
    });
    const next = { io: IO_BAR_BASE, mem32: MEM32_BAR_BASE, mem64: MEM64_BAR_BASE };
    for (const bdf of sea.scan(0)) {
      let cmd = 0;
      for (let bar = 0; bar < 6; bar++) {
        const { type, size: big, is64 } = sea.getBar(bdf, bar);
        const size = Number(big);
        if (size === 0) continue;
        const reg = PCI_BASE_ADDRESS_0 + 4 * bar;
        const pool = type === 'io' ? 'io' : is64 ? 'mem64' : 'mem32';
        const base = alignUp(next[pool], size);
        next[pool] = base + size;
        sea.writel(bdf, reg, base >>> 0);
        if (is64) sea.writel(bdf, reg + 4, Math.floor(base / FOUR_GIB));
        cmd |= type === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
        if (is64) bar++;
      }
      if (cmd) sea.writew(bdf, PCI_COMMAND, cmd | PCI_COMMAND_MASTER);
    }
    this.cfgWrite(1, 3, PIIX4_PMBASE, 4, PM_BASE | 1);
    this.cfgWrite(1, 3, PIIX4_PMREGMISC, 1, 1);
    this.cfgWrite(1, 0, PIIX_PIRQ_ROUTE, 4, 0x0b0b0a0a);
    this.cfgWrite(1, 1, IDETIM_PRIMARY, 2, IDETIM_DECODE_ENABLE);
    this.cfgWrite(1, 1, IDETIM_SECONDARY, 2, IDETIM_DECODE_ENABLE);
  }
}

let disk: { dir: string; path: string } | undefined;

/** One small raw image per process for the IDE primary master (opened read-only; writes go to each machine's overlay). */
function scratchDisk(): string {
  if (disk === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-fuzz-'));
    disk = { dir, path: join(dir, 'disk.raw') };
    const image = new Uint8Array(DISK_SECTORS * 512);
    for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 0xff;
    writeFileSync(disk.path, image);
    process.once('exit', removeScratchDisk);
  }
  return disk.path;
}

/**
 * Removes the scratch image (a later FuzzPc makes a new one). Test files call it when they end: a
 * test worker is not always ended through process 'exit', and its image would stay in /tmp.
 */
export function removeScratchDisk(): void {
  if (disk !== undefined) rmSync(disk.dir, { recursive: true, force: true });
  disk = undefined;
}

export function configAddress(dev: number, fn: number, reg: number): number {
  return (0x8000_0000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
