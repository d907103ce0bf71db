import { TopicChannel } from '@shmkit/topic';
const bus = await TopicChannel.openOrCreate('ticks');
const got = [];
bus.subscribe('/px', (m) => got.push(m.payload[0]));
const pub = bus.publisher('/px', { coalesce: true });
for (let i = 0; i < 100; i++) pub.publish(Uint8Array.of(i));           // staged
await Promise.resolve();                                               // flushed in a microtask
await new Promise((r) => setTimeout(r, 50));
console.log(got.length);                                               // 100
bus.close(); TopicChannel.unlink('ticks');
