import { describe, expect, it } from 'vitest';
import { FakeServices } from '../legacy/test-services.js';
import { Cfi01Flash, type Cfi01Options, FLASH_EXIT_SLACK } from './cfi01.js';
import type { FlashMemory } from './romd.js';

/** Records map/unmap calls the way the machine's slot owner would see them. */
class FakeMemory implements FlashMemory {
  readonly calls: Array<'map' | 'unmap'> = [];
  mapped = false;
  map(): void {
    this.calls.push('map');
    this.mapped = true;
  }
  unmap(): void {
    this.calls.push('unmap');
    this.mapped = false;
  }
}

const SIZE = 0x4000;

/** A VARS-like image: an FV header whose first 16 bytes are zero, then 0x8d (as OVMF_VARS*.fd). */
function varsImage(): Uint8Array {
  const img = new Uint8Array(SIZE).fill(0x5a);
  img.fill(0, 0, 16);
  img[16] = 0x8d;
  return img;
}

function setup(extra: Partial<Cfi01Options> = {}) {
  const memory = new FakeMemory();
  const services = new FakeServices();
  const storage = varsImage();
  const flash = new Cfi01Flash({ name: 'pflash-vars', storage, readOnly: false, memory, services, ...extra });
  return { flash, memory, services, storage };
}

/**
 * Drive the flash as KVM would: an access exits to the device only when the slot is unmapped,
 * except writes, which always exit (the slot is read-only). Mapped reads come from the image.
 */
function rd(flash: Cfi01Flash, memory: FakeMemory, storage: Uint8Array, offset: number): number {
  if (memory.mapped) return storage[offset]!;
  const data = new Uint8Array(1);
  flash.read(offset, data);
  return data[0]!;
}
function wr(flash: Cfi01Flash, offset: number, value: number): void {
  flash.write(offset, Uint8Array.of(value));
}

/** OVMF's QemuFlashDetected, written from its description: true when it decides "flash". */
function ovmfProbe(flash: Cfi01Flash, memory: FakeMemory, storage: Uint8Array, blockSize = 0x1000): boolean | 'ram' | 'rom' {
  let offset = 0;
  for (; offset < blockSize; offset++) {
    const b = rd(flash, memory, storage, offset);
    if (b !== 0x50 && b !== 0x70 && b !== 0x00) break;
  }
  if (offset >= blockSize) return false;
  const original = rd(flash, memory, storage, offset);
  wr(flash, offset, 0x50);
  let probe = rd(flash, memory, storage, offset);
  if (original !== 0x50 && probe === 0x50) return 'ram';
  wr(flash, offset, 0x70);
  probe = rd(flash, memory, storage, offset);
  if (probe === original) return 'rom';
  if (probe === 0x70) return 'ram';
  if (probe === 0x00) {
    wr(flash, offset, 0xff);
    return true;
  }
  return false;
}

describe('Cfi01Flash', () => {
  it('answers OVMF probe sequence as flash, and ends in read array with the slot mapped', () => {
    const { flash, memory, storage } = setup();
    expect(ovmfProbe(flash, memory, storage)).toBe(true);
    expect(flash.state).toEqual({ kind: 'read-array' });
    expect(memory.mapped).toBe(true);
    expect(storage).toEqual(varsImage());
  });

  it('reads the array byte (not 0x50) back after clear status, and status 0x00 after 0x70', () => {
    const { flash } = setup();
    wr(flash, 16, 0x50);
    const d = new Uint8Array(1);
    flash.read(16, d);
    expect(d[0]).toBe(0x8d);
    wr(flash, 16, 0x70);
    flash.read(16, d);
    expect(d[0]).toBe(0x00);
  });

  it('reports status 0x80 (ready) at power-on and after reset', () => {
    const { flash } = setup();
    wr(flash, 0, 0x70);
    const d = new Uint8Array(1);
    flash.read(0, d);
    expect(d[0]).toBe(0x80);
    wr(flash, 0, 0x50);
    flash.reset();
    wr(flash, 0, 0x70);
    flash.read(0, d);
    expect(d[0]).toBe(0x80);
  });

  it('programs bytes exactly as OVMF QemuFlashWrite does', () => {
    const { flash, memory, storage } = setup();
    const before = storage.slice();
    const payload = [0x11, 0x22, 0x33, 0xff, 0x00];
    payload.forEach((b, i) => {
      wr(flash, 0x100 + i, 0x10);
      wr(flash, 0x100 + i, b);
    });
    wr(flash, 0x100 + payload.length - 1, 0xff);
    const expected = before.slice();
    expected.set(payload, 0x100);
    expect(storage).toEqual(expected);
    expect(flash.dirty).toBe(true);
    expect(memory.mapped).toBe(true);
    const c = flash.counters();
    expect(c.programs).toBe(5);
    expect(c.commands).toBe(6);
  });

  it('accepts 0x40 as program and multi-byte data writes', () => {
    const { flash, storage } = setup();
    wr(flash, 0x200, 0x40);
    flash.write(0x200, Uint8Array.of(1, 2, 3, 4));
    expect([...storage.subarray(0x200, 0x204)]).toEqual([1, 2, 3, 4]);
  });

  it('erases exactly the addressed 4 KiB block to 0xff on 0x20 then 0xd0', () => {
    const { flash, storage } = setup();
    const before = storage.slice();
    wr(flash, 0x1234, 0x20);
    expect(storage).toEqual(before);
    wr(flash, 0x1234, 0xd0);
    const expected = before.slice();
    expected.fill(0xff, 0x1000, 0x2000);
    expect(storage).toEqual(expected);
    expect(flash.state).toEqual({ kind: 'status' });
    expect(flash.counters().erases).toBe(1);
  });

  it('honours a configured block size', () => {
    const { flash, storage } = setup({ blockSize: 0x2000 });
    wr(flash, 0x2010, 0x20);
    wr(flash, 0x2010, 0xd0);
    expect(storage.subarray(0x2000, 0x4000).every((b) => b === 0xff)).toBe(true);
    expect(storage[0x1fff]).toBe(0x5a);
  });

  it('aborts an erase on 0xff and flags other second cycles as misuse', () => {
    const { flash, storage, services } = setup();
    const before = storage.slice();
    wr(flash, 0x1000, 0x20);
    wr(flash, 0x1000, 0xff);
    expect(storage).toEqual(before);
    expect(flash.state).toEqual({ kind: 'read-array' });
    wr(flash, 0x1000, 0x20);
    wr(flash, 0x1000, 0x42);
    expect(storage).toEqual(before);
    expect(flash.state).toEqual({ kind: 'read-array' });
    expect(services.misuse).toHaveLength(1);
  });

  it('returns the status register for reads in every command mode', () => {
    const { flash } = setup();
    const d = new Uint8Array(1);
    wr(flash, 0x300, 0x10);
    flash.read(0x300, d);
    expect(d[0]).toBe(0x80);
    wr(flash, 0x300, 0xab);
    flash.read(0x300, d);
    expect(d[0]).toBe(0x80);
    wr(flash, 0x1000, 0x20);
    flash.read(0x1000, d);
    expect(d[0]).toBe(0x80);
    const wide = new Uint8Array(4);
    flash.read(0x1000, wide);
    expect([...wide]).toEqual([0x80, 0, 0x80, 0]);
  });

  it('treats unsupported commands (0x90, 0x98) as misuse and returns to read array', () => {
    const { flash, memory, services } = setup();
    wr(flash, 0, 0x90);
    expect(flash.state).toEqual({ kind: 'read-array' });
    expect(memory.mapped).toBe(true);
    wr(flash, 0, 0x98);
    expect(services.misuse.map((m) => m.device)).toEqual(['pflash-vars', 'pflash-vars']);
  });

  describe('ROMD', () => {
    it('maps at start, unmaps on the first command, maps again on 0xff', () => {
      const { flash, memory } = setup();
      expect(memory.calls).toEqual(['map']);
      wr(flash, 0, 0x10);
      expect(memory.calls).toEqual(['map', 'unmap']);
      wr(flash, 0, 0x01);
      wr(flash, 1, 0x10);
      wr(flash, 1, 0x02);
      expect(memory.calls).toEqual(['map', 'unmap']);
      wr(flash, 1, 0xff);
      expect(memory.calls).toEqual(['map', 'unmap', 'map']);
      expect(flash.mapped).toBe(true);
    });

    it('maps again after 0x00 and 0x50 too', () => {
      const { flash, memory } = setup();
      wr(flash, 0, 0x00);
      wr(flash, 0, 0x50);
      expect(memory.calls).toEqual(['map', 'unmap', 'map', 'unmap', 'map']);
    });

    it('reset() after a VM rebuild maps the slot again even if it was unmapped', () => {
      const { flash, memory } = setup();
      wr(flash, 0, 0x70);
      expect(memory.mapped).toBe(false);
      flash.reset();
      expect(memory.mapped).toBe(true);
      expect(flash.state).toEqual({ kind: 'read-array' });
    });
  });

  describe('read-only CODE', () => {
    it('drops and counts writes, never leaves read array, never unmaps', () => {
      const memory = new FakeMemory();
      const services = new FakeServices();
      const storage = new Uint8Array(SIZE).fill(0x90);
      const flash = new Cfi01Flash({ name: 'pflash-code', storage, readOnly: true, memory, services });
      wr(flash, 0x10, 0x10);
      wr(flash, 0x10, 0x00);
      wr(flash, 0x1000, 0x20);
      wr(flash, 0x1000, 0xd0);
      expect(storage.every((b) => b === 0x90)).toBe(true);
      expect(memory.calls).toEqual(['map']);
      expect(flash.state).toEqual({ kind: 'read-array' });
      expect(flash.dirty).toBe(false);
      const c = flash.counters();
      expect(c.misuse).toBe(4);
      expect(c.mmioWrites).toBe(4);
      expect(c.programs + c.erases + c.commands).toBe(0);
      expect(services.misuse).toHaveLength(4);
      expect(services.misuse[0]!.device).toBe('pflash-code');
    });
  });

  describe('quirks', () => {
    it('romdUnmapped: the slot is never mapped, so every read (the reset-vector fetch) traps', () => {
      const { flash, memory, storage } = setup({ romdUnmapped: true });
      expect(memory.calls).toEqual([]);
      const d = new Uint8Array(4);
      flash.read(16, d);
      expect(d[0]).toBe(0x8d);
      expect(ovmfProbe(flash, memory, storage)).toBe(true);
      flash.reset();
      expect(memory.calls).toEqual([]);
      expect(flash.counters().arrayReadsTrapped).toBeGreaterThan(0);
    });

    it('romdNeverRemapped: unmapped on the first command, never mapped again: array reads storm', () => {
      const { flash, memory, storage } = setup({ romdNeverRemapped: true });
      expect(ovmfProbe(flash, memory, storage)).toBe(true);
      expect(memory.calls).toEqual(['map', 'unmap']);
      expect(flash.mapped).toBe(false);
      for (let i = 0; i < 10_000; i++) rd(flash, memory, storage, i % SIZE);
      const c = flash.counters();
      expect(c.arrayReadsTrapped).toBeGreaterThanOrEqual(10_000);
      expect(flash.exits()).toBeGreaterThan(flash.exitBudget());
      // A reset rebuilds the VM: mapped as at power-on, then the bug bites again.
      flash.reset();
      expect(memory.mapped).toBe(true);
      wr(flash, 0, 0x50);
      expect(memory.mapped).toBe(false);
    });
  });

  describe('exit budget', () => {
    it('counts commands, programs, erases and trapped accesses; a healthy run stays within budget', () => {
      const { flash, memory, storage } = setup();
      expect(ovmfProbe(flash, memory, storage)).toBe(true);
      // Probe: 0x50, 0x70 (with one status read), 0xff.
      expect(flash.counters()).toMatchObject({ commands: 3, programs: 0, erases: 0, mmioWrites: 3, mmioReads: 1, trappedWhileUnmapped: 2 });
      wr(flash, 0x1000, 0x20);
      wr(flash, 0x1000, 0xd0);
      for (let i = 0; i < 100; i++) {
        wr(flash, 0x1000 + i, 0x10);
        wr(flash, 0x1000 + i, i);
      }
      wr(flash, 0x1063, 0xff);
      for (let i = 0; i < 100_000; i++) rd(flash, memory, storage, i % SIZE);
      const c = flash.counters();
      expect(c).toMatchObject({ commands: 105, programs: 100, erases: 1, arrayReadsTrapped: 0, maps: 4, unmaps: 3 });
      expect(flash.exits()).toBe(c.mmioReads + c.mmioWrites);
      expect(flash.exits()).toBeLessThanOrEqual(flash.exitBudget());
      expect(flash.exitBudget()).toBe(2 * (105 + 100 + 1) + FLASH_EXIT_SLACK);
    });
  });

  describe('persistence', () => {
    it('flush() hands over a copy only when changed; contents() is a copy', () => {
      const { flash, storage } = setup();
      const saved: Uint8Array[] = [];
      expect(flash.flush((b) => saved.push(b))).toBe(false);
      wr(flash, 0x20, 0x10);
      wr(flash, 0x20, 0x77);
      expect(flash.flush((b) => saved.push(b))).toBe(true);
      expect(flash.flush((b) => saved.push(b))).toBe(false);
      expect(saved).toHaveLength(1);
      expect(saved[0]![0x20]).toBe(0x77);
      saved[0]![0x20] = 0;
      expect(storage[0x20]).toBe(0x77);
      const copy = flash.contents();
      copy[0] = 1;
      expect(storage[0]).toBe(0);
    });
  });

  it('rejects images that are not whole blocks and bad block sizes', () => {
    const base = { name: 'f', readOnly: false, memory: new FakeMemory(), services: new FakeServices() };
    expect(() => new Cfi01Flash({ ...base, storage: new Uint8Array(0x1800) })).toThrow(/expected a non-zero multiple of 4096/);
    expect(() => new Cfi01Flash({ ...base, storage: new Uint8Array(0x2000), blockSize: 3000 })).toThrow(/invalid blockSize 3000/);
  });
});
