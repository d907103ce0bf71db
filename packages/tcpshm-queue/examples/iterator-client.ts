// TCP client with an async iterator and automatic reconnect.
import { TcpshmClient } from '@shmkit/tcpshm-queue';

await using client = new TcpshmClient({ name: 'c1', ptcpDir: './state/c1' });
const conn = await client.connect({ host: '127.0.0.1', port: 12345, reconnect: true });
conn.send(1, new TextEncoder().encode('hello'));
for await (const msg of conn) {          // popped when the loop asks for the next one
  console.log(msg.type, new TextDecoder().decode(msg.payload));
  break;                                 // not popped: redelivered on the next iteration/link
}
