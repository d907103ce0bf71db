// Large messages (both peers set the same option; never with a reference peer).
import { TcpshmClient } from '@shmkit/tcpshm-queue';

const client = new TcpshmClient({ name: 'bulk', ptcpDir: './state/bulk',
  largeMessages: { maxSize: 8 << 20 }, tcpRecvBufMaxSize: 16 << 20, tcpQueueSize: 32 << 20 });
const conn = await client.connect({ host: '127.0.0.1', port: 12345 });
await conn.sendAsync(9, new Uint8Array(3 << 20));    // 3 MiB in 49 records, delivered as one message
