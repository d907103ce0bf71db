// Zero-copy SHM client, spin mode, allocation-free hot path.
import { TcpshmClient } from '@shmkit/tcpshm-queue';

const client = new TcpshmClient({ name: 'c2', ptcpDir: './state/c2', wait: { mode: 'spin' } });
client.onMessage = (msg, conn) => { console.log(msg.type, msg.length); conn.pop(); };
const conn = await client.connect({ host: '127.0.0.1', port: 12345, shm: true });
const dv = new DataView(conn.sendBuffer.buffer, conn.sendBuffer.byteOffset, conn.sendBuffer.byteLength);
const off = conn.allocAt(16, 7);                     // -1 when the ring is full
if (off >= 0) { dv.setBigUint64(off, 42n, true); dv.setFloat64(off + 8, 1.5, true); conn.push(); }
