// Assembles a guest (nasm, flat binary) into guests/build/, once per source, its includes and defines, and returns
// the image path. A missing nasm is a clear error naming the package to install.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootgateError } from '../vmm/errors.js';

const GUESTS = dirname(fileURLToPath(import.meta.url)).replace(/\/dist\/guests$/, '/guests');
export const GUEST_BUILD_DIR = join(GUESTS, 'build');

/** Assemble `source` (relative to guests/) with `-D` defines; cached by content hash. */
export async function assemble(source: string, defines: Record<string, string | number> = {}): Promise<string> {
  const src = join(GUESTS, source);
  if (!existsSync(src)) throw new BootgateError('E_FIXTURE', `guest source ${src} is missing`);
  const defs = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  // The cache key covers the files the source %includes (next to it), so editing one rebuilds.
  const text = readFileSync(src, 'utf8');
  const hasher = createHash('sha256').update(text).update(defs.join(' '));
  for (const m of text.matchAll(/^\s*%include\s+"([^"]+)"/gm)) hasher.update(readFileSync(join(dirname(src), m[1]!)));
  const hash = hasher.digest('hex').slice(0, 12);
  const base = source.replace(/\.asm$/, '').replace(/\//g, '-');
  const out = join(GUEST_BUILD_DIR, `${base}-${hash}.bin`);
  if (existsSync(out)) return out;
  mkdirSync(GUEST_BUILD_DIR, { recursive: true });
  // Assemble under a temporary name and rename, so a concurrent builder never sees a partial image;
  // the name is this writer's own (processes in two lab VMs may have the same pid).
  const tmp = `${out}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    // Loaded only to assemble: a cached image (every boot in the nested lab) never needs it.
    const { execa } = await import('execa');
    await execa('nasm', ['-f', 'bin', '-i', `${dirname(src)}/`, ...defs, '-o', tmp, src]);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as { code?: string; stderr?: string };
    if (err.code === 'ENOENT') {
      throw new BootgateError('E_FIXTURE', 'nasm is not installed; it assembles the probe guests', {
        hint: 'apt-get install nasm (npm test installs it)',
      });
    }
    throw new BootgateError('E_INTERNAL', `nasm failed on ${src}: ${err.stderr ?? e}`);
  }
  return out;
}
