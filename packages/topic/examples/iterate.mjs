import { TopicChannel } from '@shmkit/topic';
const bus = await TopicChannel.openOrCreate('shop');
const sub = bus.subscribe('/orders', { descendants: true });
bus.publish('/orders/eu', new TextEncoder().encode('order 1'));
bus.publish('/ordersx', new TextEncoder().encode('not mine'));     // different segment
bus.publish('/orders/us', new TextEncoder().encode('order 2'));
let n = 0;
for await (const m of sub) {
  console.log(m.seq, m.topic, new TextDecoder().decode(m.payload));
  if (++n === 2) break;                                             // closes the subscription
}
bus.close(); TopicChannel.unlink('shop');
