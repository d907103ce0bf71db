import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';

let n = 0;
/** A short name (fits nameSize - 1 = 15) unique to this run. */
export function shortName(label: string): string {
  // The full run tag ('tk' + 6 hex) is part of every name, so the leak check finds what a test left behind.
  const tag = process.env.SHMKIT_TEST_RUNTAG ?? 'tk000000';
  const name = `${label.slice(0, 3)}${tag}${(n++).toString(36)}`;
  if (name.length > 15) throw new Error(`test name ${name} longer than nameSize - 1`);
  return name;
}
export function tempDir(label: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tcpshm-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
/** A raw TCP peer collecting every received byte. */
export async function rawPeer(port: number): Promise<{ sock: Socket; data(): Buffer; closed(): boolean; waitBytes(n: number, ms?: number): Promise<Buffer> }> {
  const sock = connect({ port, host: '127.0.0.1' });
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  await new Promise<void>((resolve, reject) => { sock.once('connect', () => resolve()); sock.once('error', reject); });
  return {
    sock, data: () => buf, closed: () => closed,
    async waitBytes(count, ms = 5000) {
      const end = Date.now() + ms;
      while (buf.length < count) {
        if (Date.now() > end) throw new Error(`only ${buf.length}/${count} bytes within ${ms} ms`);
        if (closed) throw new Error(`peer closed after ${buf.length}/${count} bytes`);
        await new Promise((r) => setTimeout(r, 2));
      }
      return buf;
    },
  };
}
