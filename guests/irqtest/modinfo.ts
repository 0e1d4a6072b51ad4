// modinfo(8) for the irqtest module, on top of the lab's `.modinfo` ELF reader (lab/modinfo.ts):
// the host may lack kmod, and a module built for the guest is never loaded here.

import { readFile } from 'node:fs/promises';
import { readModinfo as readModinfoSection } from '../../lab/modinfo.js';

/** Every key with its values in file order (`alias`, `parm` and `depends` can repeat). */
export type Modinfo = Record<string, string[]>;

export function parseModinfo(image: Buffer, what = 'module'): Modinfo {
  return Object.fromEntries(readModinfoSection(image, what));
}

export async function readModinfo(path: string): Promise<Modinfo> {
  return parseModinfo(await readFile(path), path);
}

/** The module's vermagic, trailing blank removed ("6.1.0-50-cloud-amd64 SMP preempt mod_unload modversions"). */
export function vermagicOf(info: Modinfo): string | undefined {
  return info.vermagic?.[0]?.trim();
}
