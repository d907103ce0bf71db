import { TopicChannel } from '@shmkit/topic';
const bus = await TopicChannel.openOrCreate('fleet');
bus.subscribe('/cars/7', (m) => console.log('car 7 got', m.topic, m.postToDescendants));
bus.subscribe('/cars/8', (m) => console.log('car 8 got', m.topic));
bus.publish('/cars', Uint8Array.of(1), { postToDescendants: true });  // reaches /cars/7 and /cars/8
bus.publish('/cars/7', Uint8Array.of(2));                           // only car 7
await new Promise((r) => setTimeout(r, 50));
bus.close(); TopicChannel.unlink('fleet');
