import { describe, expect, it } from 'vitest';
import { parseStatus } from './status.js';

describe('parseStatus', () => {
  it('reads ready and the exit code', () => {
    expect(parseStatus('ready\nexit 3\n')).toEqual({ ready: true, exitCode: 3 });
  });

  it('ignores a line the VM did not finish writing', () => {
    expect(parseStatus('ready\nexit 1')).toEqual({ ready: true });
  });

  it('reads a setup failure with its reason', () => {
    expect(parseStatus('setup-failed mounting the host root (9p tag bootgate.root)\n')).toEqual({
      ready: false,
      setupFailed: 'mounting the host root (9p tag bootgate.root)',
    });
  });

  it('keeps the first exit code and ignores noise', () => {
    expect(parseStatus('garbage\nready\nexit 0\nexit 5\nexit 1234\n').exitCode).toBe(0);
  });
});
