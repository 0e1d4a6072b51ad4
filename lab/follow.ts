// Follows a file another process appends to (QEMU's file chardevs), like `tail -f` by polling:
// each poll reads whatever was appended since the last one. A file that does not exist yet
// reads as empty. The caller polls on its own schedule and once more after the writer exited,
// so the last bytes are never lost. Left out: inotify (a 20 ms poll is cheaper than its setup
// for four files and a few seconds), truncation while following (QEMU truncates only on open).

import { type FileHandle, open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

export class FileFollower {
  private handle: FileHandle | undefined;
  private position = 0;
  private readonly buffer = Buffer.alloc(CHUNK);

  constructor(
    readonly path: string,
    private readonly onData: (chunk: Buffer) => void,
  ) {}

  /** Reads everything appended since the last poll; returns the number of bytes delivered. */
  async poll(): Promise<number> {
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    }
    let total = 0;
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, CHUNK, this.position);
      if (bytesRead === 0) return total;
      this.position += bytesRead;
      total += bytesRead;
      this.onData(Buffer.from(this.buffer.subarray(0, bytesRead)));
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
