// Reference-style echo server: accepts TCP and SHM logins and echoes every message (push first, then pop).
// pnpm --filter @shmkit/tcpshm-queue example:echo-server -- --name server --port 12345
import { TcpshmServer } from '@shmkit/tcpshm-queue';
import { args } from './args.js';

const a = args();
const name = String(a['name'] ?? 'server');
const server = new TcpshmServer({
  name, ptcpDir: String(a['dir'] ?? `./state/${name}`),
  onNewConnection: (req) => (/^[A-Za-z0-9]/.test(req.clientName) ? { accept: true } : { accept: false, message: 'Login Reject' }),
  onMessage: (msg, conn) => {
    const out = conn.alloc(msg.length, msg.type);
    if (out === undefined) { conn.once('drain', () => conn.resume()); return; } // hold: redeliver later
    out.set(msg.payload);
    conn.push();   // push first, then pop: a crash in between duplicates the reply instead of losing it
    conn.pop();
  },
});
server.on('logon', (conn) => console.log(`logon ${conn.remoteName} (${conn.mode})`));
server.on('disconnect', (conn, reason) => console.log(`disconnect ${conn.remoteName} ${reason.code} ${reason.reasonText ?? ''}`));
const addr = await server.listen({ port: Number(a['port'] ?? 12345), host: String(a['host'] ?? '0.0.0.0') });
console.log(`listening on ${addr.address}:${addr.port}`);
process.on('SIGINT', () => { void server.close().then(() => process.exit(0)); });
