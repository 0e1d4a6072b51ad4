// Buffers console bytes from a device (COM1, the 0x402 debug console) and hands them on in
// chunks: at a newline, at 256 bytes, or when the oldest unflushed byte is older than 20 ms
// (checked by `poll` between exits). Keeps postMessage traffic off the per-byte exit path.

const MAX_CHUNK = 256;
const MAX_AGE_MS = 20;

export class ConsoleBuffer {
  private readonly bytes = new Uint8Array(MAX_CHUNK);
  private length = 0;
  private oldest = 0;
  totalBytes = 0;

  constructor(private readonly flushTo: (text: string) => void) {}

  push(byte: number): void {
    if (this.length === 0) this.oldest = performance.now();
    this.bytes[this.length++] = byte;
    this.totalBytes++;
    if (byte === 0x0a || this.length === MAX_CHUNK) this.flush();
  }

  poll(now: number): void {
    if (this.length > 0 && now - this.oldest > MAX_AGE_MS) this.flush();
  }

  flush(): void {
    if (this.length === 0) return;
    const text = Buffer.from(this.bytes.subarray(0, this.length)).toString('latin1');
    this.length = 0;
    this.flushTo(text);
  }
}
