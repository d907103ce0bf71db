// node:net plumbing of the one-way socket roles: the writer listens and accepts one connection per
// reader; each reader connects to the address the writer published in its setup result.
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

export interface Listener { server: net.Server; accepted: Promise<net.Socket[]>; path: string | undefined; address: string | { port: number } }
export async function listenFor(transport: string, name: string, readers: number): Promise<Listener> {
  const server = net.createServer();
  const conns: net.Socket[] = [];
  const accepted = new Promise<net.Socket[]>((res) => server.on('connection', (s) => { s.setNoDelay(true); s.on('error', () => {}); conns.push(s); if (conns.length === readers) res(conns); }));
  let path: string | undefined;
  if (transport === 'net-tcp') await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  else { path = join(os.tmpdir(), `shmkit-bench-${process.pid}-${name}.sock`); rmSync(path, { force: true }); await new Promise<void>((res) => server.listen(path, res)); }
  const a = server.address();
  return { server, accepted, path, address: typeof a === 'string' ? a : { port: a!.port } };
}
export async function connectTo(peer: unknown, onData: (d: Buffer) => void): Promise<net.Socket> {
  const addr = (peer as { address: string | { port: number } }).address;
  const sock = typeof addr === 'string' ? net.connect(addr) : net.connect(addr.port, '127.0.0.1');
  await new Promise<void>((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  sock.setNoDelay(true);
  sock.on('data', onData);
  return sock;
}
export async function closeListener(l: Listener | undefined, socks: net.Socket[] | undefined): Promise<void> {
  for (const s of socks ?? []) s.destroy();
  if (!l) return;
  await new Promise<void>((res) => l.server.close(() => res()));
  if (l.path) rmSync(l.path, { force: true });
}
