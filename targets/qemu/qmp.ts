// A small QMP client (QEMU Machine Protocol, docs/interop/qmp-spec) over a unix socket: wait for
// the socket, read the greeting, negotiate capabilities, execute commands with an id and match
// replies by it, collect asynchronous events. One JSON object per line in both directions.
// Left out: out-of-band execution and fd passing (SCM_RIGHTS); nothing in bootgate needs them.

import { connect, type Socket } from 'node:net';
import { BootgateError } from '../../vmm/errors.js';

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with `{"error": {"class", "desc"}}`. */
export class QmpError extends Error {
  readonly code = 'E_QMP';
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

export interface ConnectOptions {
  /** Give up (E_TIMEOUT) when the socket does not answer within this time. Default 10 s. */
  timeoutMs?: number;
  /** Stop retrying when aborted (e.g. the QEMU process exited). */
  signal?: AbortSignal;
  /** Called for every event as it arrives (events are also kept in `events`). */
  onEvent?: (event: QmpEvent, receivedAt: number) => void;
}

const RETRY_MS = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to a unix socket a server may not have created yet: retries while the path is missing
 * or refuses connections, until `timeoutMs` or `signal` aborts.
 */
export async function connectUnixSocket(path: string, options: Omit<ConnectOptions, 'onEvent'> = {}): Promise<Socket> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw e;
      if (Date.now() >= deadline) {
        throw new BootgateError('E_TIMEOUT', `no server on unix socket ${path} after ${options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

interface Waiter {
  name: string;
  resolve: (event: QmpEvent | undefined) => void;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient {
  readonly events: QmpEvent[] = [];
  #buffer = '';
  #nextId = 1;
  readonly #pending = new Map<string, Pending>();
  readonly #waiters = new Set<Waiter>();
  #closedError: Error | undefined;
  readonly #onEvent: ConnectOptions['onEvent'];
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly greeting: QmpGreeting,
    onEvent: ConnectOptions['onEvent'],
    rest: string,
  ) {
    this.#onEvent = onEvent;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#receive(chunk.toString('utf8')));
    socket.on('close', () => this.#fail(new BootgateError('E_INTERNAL', 'QMP connection closed')));
    socket.on('error', (e) => this.#fail(e));
    if (rest) this.#receive(rest);
    socket.resume();
  }

  /** Connects (retrying until the socket exists), reads the greeting and negotiates capabilities. */
  static async connect(path: string, options: ConnectOptions = {}): Promise<QmpClient> {
    const socket = await connectUnixSocket(path, options);
    try {
      const { greeting, rest } = await readGreeting(socket, options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      const client = new QmpClient(socket, greeting, options.onEvent, rest);
      await client.execute('qmp_capabilities');
      return client;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  /** Runs one command; resolves with its `return` value, rejects with QmpError on `error`. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = `bootgate-${this.#nextId++}`;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    });
  }

  /** `human-monitor-command`: an HMP command line (e.g. `info mtree -f`), its text output. */
  hmp(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  /** Resolves with the first event named `name` received from now on, or undefined after `timeoutMs` or on close. */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent | undefined> {
    if (this.#closedError) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        name,
        resolve: (e) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(e);
        },
      };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #receive(text: string): void {
    this.#buffer += text;
    for (let nl = this.#buffer.indexOf('\n'); nl >= 0; nl = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line !== '') this.#dispatch(line);
    }
  }

  #dispatch(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#fail(new BootgateError('E_INTERNAL', `QMP sent a line that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if (typeof msg.event === 'string') {
      const ev = msg as unknown as QmpEvent;
      this.events.push(ev);
      this.#onEvent?.(ev, performance.now());
      for (const w of this.#waiters) if (w.name === ev.event) w.resolve(ev);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending) return; // a reply to nobody (e.g. an id-less command): nothing waits for it
    this.#pending.delete(id!);
    if ('return' in msg) pending.resolve(msg.return);
    else {
      const err = (msg.error ?? {}) as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, err.class ?? 'GenericError', err.desc ?? JSON.stringify(msg)));
    }
  }

  #fail(error: Error): void {
    this.#closedError ??= error;
    for (const p of this.#pending.values()) p.reject(new BootgateError('E_INTERNAL', `QMP ${p.command}: ${error.message}`, { cause: error }));
    this.#pending.clear();
    for (const w of this.#waiters) w.resolve(undefined);
  }
}

/** The first line a QMP server sends: `{"QMP": {"version": ..., "capabilities": [...]}}`. */
function readGreeting(socket: Socket, timeoutMs: number): Promise<{ greeting: QmpGreeting; rest: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause(); // keep what follows the greeting until the client listens
      fn();
    };
    const onError = (e: Error) => done(() => reject(e));
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      try {
        const msg = JSON.parse(text.slice(0, nl)) as { QMP?: QmpGreeting };
        if (!msg.QMP) throw new Error(`not a QMP greeting: ${text.slice(0, nl)}`);
        done(() => resolve({ greeting: msg.QMP!, rest: text.slice(nl + 1) }));
      } catch (e) {
        done(() => reject(new BootgateError('E_INTERNAL', `bad QMP greeting: ${(e as Error).message}`, { cause: e })));
      }
    };
    const onClose = () => done(() => reject(new BootgateError('E_INTERNAL', 'QMP socket closed before the greeting')));
    const timer = setTimeout(() => done(() => reject(new BootgateError('E_TIMEOUT', `no QMP greeting within ${timeoutMs} ms`))), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}
