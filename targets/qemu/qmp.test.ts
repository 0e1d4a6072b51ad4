// The QMP client against a fake QMP server on a unix socket: greeting, capabilities negotiation,
// commands matched by id (also when answered out of order), errors, events, waiting for a socket
// that appears late, and what happens when the server goes away.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { connectUnixSocket, QmpClient, QmpError, type QmpEvent } from './qmp.js';

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }, capabilities: ['oob'] } };

interface FakeOptions {
  /** Answer a command; return undefined to not answer (yet). */
  answer?: (cmd: { execute: string; arguments?: Record<string, unknown>; id?: unknown }, conn: Socket) => unknown;
  greeting?: unknown;
}

/** A QMP server like QEMU's: greeting, then only qmp_capabilities until negotiated. */
class FakeQmp {
  readonly received: Array<{ execute: string; arguments?: Record<string, unknown>; id?: unknown }> = [];
  readonly conns: Socket[] = [];
  server!: Server;

  constructor(
    readonly path: string,
    readonly options: FakeOptions = {},
  ) {}

  listen(): Promise<void> {
    this.server = createServer((conn) => {
      this.conns.push(conn);
      let negotiated = false;
      let buf = '';
      conn.write(`${JSON.stringify(this.options.greeting ?? GREETING)}\r\n`);
      conn.on('data', (chunk) => {
        buf += chunk.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const cmd = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          this.received.push(cmd);
          if (cmd.execute === 'qmp_capabilities') {
            negotiated = true;
            this.reply(conn, { return: {}, id: cmd.id });
          } else if (!negotiated) {
            this.reply(conn, { error: { class: 'CommandNotFound', desc: 'Expecting capabilities negotiation with \'qmp_capabilities\'' }, id: cmd.id });
          } else {
            const r = this.options.answer?.(cmd, conn);
            if (r !== undefined) this.reply(conn, { ...(r as object), id: cmd.id });
          }
        }
      });
    });
    return new Promise((r) => this.server.listen(this.path, r));
  }

  reply(conn: Socket, msg: unknown): void {
    conn.write(`${JSON.stringify(msg)}\r\n`);
  }

  event(name: string, data?: Record<string, unknown>): void {
    for (const c of this.conns) this.reply(c, { event: name, data, timestamp: { seconds: 1, microseconds: 2 } });
  }

  close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let dir: string;
let fake: FakeQmp | undefined;
let client: QmpClient | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-qmp-test-'));
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: FakeOptions = {}): Promise<FakeQmp> {
  fake = new FakeQmp(join(dir, 'qmp.sock'), options);
  await fake.listen();
  return fake;
}

describe('QmpClient', () => {
  test('reads the greeting and negotiates capabilities before anything else', async () => {
    const f = await start();
    client = await QmpClient.connect(f.path);
    expect(client.greeting.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(f.received).toEqual([{ execute: 'qmp_capabilities', id: 'bootgate-1' }]);
  });

  test('executes with arguments and an id, and resolves with the return value', async () => {
    const f = await start({ answer: (c) => (c.execute === 'query-status' ? { return: { status: 'prelaunch', running: false } } : { return: {} }) });
    client = await QmpClient.connect(f.path);
    await expect(client.execute('query-status')).resolves.toEqual({ status: 'prelaunch', running: false });
    await client.execute('pmemsave', { val: 0xfffc0000, size: 4, filename: '/tmp/x' });
    expect(f.received.slice(1)).toEqual([
      { execute: 'query-status', id: 'bootgate-2' },
      { execute: 'pmemsave', arguments: { val: 0xfffc0000, size: 4, filename: '/tmp/x' }, id: 'bootgate-3' },
    ]);
  });

  test('hmp() runs a human monitor command line and returns its text', async () => {
    const f = await start({ answer: (c) => ({ return: `ran ${(c.arguments as Record<string, string>)['command-line']}\r\n` }) });
    client = await QmpClient.connect(f.path);
    await expect(client.hmp('info mtree -f')).resolves.toBe('ran info mtree -f\r\n');
    expect(f.received[1]).toMatchObject({ execute: 'human-monitor-command', arguments: { 'command-line': 'info mtree -f' } });
  });

  test('matches replies by id when QEMU answers out of order', async () => {
    const held: Array<() => void> = [];
    const f = await start({
      answer: (c, conn) => {
        held.push(() => f.reply(conn, { return: c.execute, id: c.id }));
        if (held.length === 2) for (const h of held.reverse()) h();
        return undefined;
      },
    });
    client = await QmpClient.connect(f.path);
    const [a, b] = await Promise.all([client.execute('first'), client.execute('second')]);
    expect([a, b]).toEqual(['first', 'second']);
  });

  test('an error reply rejects with QmpError carrying the class and description', async () => {
    const f = await start({ answer: () => ({ error: { class: 'GenericError', desc: 'Invalid parameter' } }) });
    client = await QmpClient.connect(f.path);
    const err = await client.execute('pmemsave', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({ code: 'E_QMP', command: 'pmemsave', errorClass: 'GenericError', desc: 'Invalid parameter' });
    expect((err as Error).message).toBe('QMP pmemsave failed: GenericError: Invalid parameter');
  });

  test('events go to onEvent and events[], and waitForEvent resolves with the next one', async () => {
    const f = await start({ answer: () => ({ return: {} }) });
    const seen: QmpEvent[] = [];
    client = await QmpClient.connect(f.path, { onEvent: (e) => seen.push(e) });
    const reset = client.waitForEvent('RESET', 2000);
    f.event('STOP');
    f.event('RESET', { guest: true, reason: 'guest-reset' });
    await expect(reset).resolves.toMatchObject({ event: 'RESET', data: { guest: true, reason: 'guest-reset' } });
    expect(seen.map((e) => e.event)).toEqual(['STOP', 'RESET']);
    expect(client.events).toEqual(seen);
    await expect(client.waitForEvent('SHUTDOWN', 50)).resolves.toBeUndefined();
  });

  test('an event that arrives in the same chunk as the greeting is not lost', async () => {
    fake = new FakeQmp(join(dir, 'qmp.sock'));
    fake.server = createServer((conn) => {
      fake!.conns.push(conn);
      conn.write(`${JSON.stringify(GREETING)}\r\n${JSON.stringify({ event: 'EARLY', timestamp: { seconds: 0, microseconds: 0 } })}\r\n`);
      conn.on('data', (chunk) => {
        const cmd = JSON.parse(chunk.toString());
        conn.write(`${JSON.stringify({ return: {}, id: cmd.id })}\r\n`);
      });
    });
    await new Promise<void>((r) => fake!.server.listen(fake!.path, r));
    client = await QmpClient.connect(fake.path);
    expect(client.events.map((e) => e.event)).toEqual(['EARLY']);
  });

  test('waits for a socket that appears late (QEMU still starting)', async () => {
    const path = join(dir, 'qmp.sock');
    const connecting = QmpClient.connect(path, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 150));
    fake = new FakeQmp(path);
    await fake.listen();
    client = await connecting;
    expect(client.greeting.capabilities).toEqual(['oob']);
  });

  test('gives up on a socket that never appears: timeout, or at once when aborted', async () => {
    const path = join(dir, 'never.sock');
    await expect(connectUnixSocket(path, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'E_TIMEOUT', message: expect.stringContaining(path) });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('QEMU exited')), 50);
    await expect(QmpClient.connect(path, { timeoutMs: 10_000, signal: ac.signal })).rejects.toThrow('QEMU exited');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('rejects a server that does not greet like QMP', async () => {
    const f = await start({ greeting: { hello: 'world' } });
    await expect(QmpClient.connect(f.path)).rejects.toThrow(/bad QMP greeting: not a QMP greeting/);
  });

  test('pending commands and later ones reject when the connection closes (QEMU exited)', async () => {
    const f = await start({ answer: () => undefined });
    client = await QmpClient.connect(f.path);
    const pending = client.execute('query-status');
    const waiting = client.waitForEvent('SHUTDOWN', 10_000);
    for (const c of f.conns) c.end();
    await expect(pending).rejects.toThrow(/QMP query-status: QMP connection closed/);
    await expect(waiting).resolves.toBeUndefined();
    await client.closed;
    await expect(client.execute('cont')).rejects.toThrow(/closed/);
  });
});
