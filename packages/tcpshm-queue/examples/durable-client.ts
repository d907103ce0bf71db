// Durable TCP client: what the peer has seen or acked survives a power loss (spec §5.16).
import { TcpshmClient } from '@shmkit/tcpshm-queue';

const client = new TcpshmClient({ name: 'ledger', ptcpDir: './state/ledger', durability: 'fsync-on-push' });
const conn = await client.connect({ host: '127.0.0.1', port: 12345 });
conn.send(3, new TextEncoder().encode('entry-1'));  // returns after the record is on stable storage
await client.close({ drain: true, timeoutMs: 5000 });
