// Errors with stable codes (docs/style.md, after vitest's node/errors.ts): a short message that names
// the problem and the fix; the underlying error goes in `cause`.

export type BootgateErrorCode =
  | 'E_CONFIG' // a bad option or value
  | 'E_FIXTURE' // a missing or corrupt external artifact
  | 'E_ACCEL' // the accelerator is missing, inaccessible or refused an operation
  | 'E_BUS' // a device-bus registration conflict (host misconfiguration)
  | 'E_GUEST' // the guest did something the VMM cannot continue from
  | 'E_TIMEOUT' // the guest did not reach the awaited point in time
  | 'E_INTERNAL'; // a bug in bootgate

export class BootgateError extends Error {
  readonly code: BootgateErrorCode;
  /** How to fix it, printed after the message. */
  readonly hint?: string;

  constructor(code: BootgateErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BootgateError';
    this.code = code;
    this.hint = options.hint;
  }

  /** One line for a terminal: `bootgate: E_CODE: message (fix: hint)`. */
  toLine(): string {
    return `bootgate: ${this.code}: ${this.message}${this.hint ? ` (fix: ${this.hint})` : ''}`;
  }
}

export function configError(option: string, received: unknown, expected: string): BootgateError {
  return new BootgateError('E_CONFIG', `invalid ${option}: ${JSON.stringify(received)}; expected ${expected}`, {
    hint: `pass ${option} as ${expected}`,
  });
}
