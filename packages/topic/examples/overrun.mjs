import { TopicChannel } from '@shmkit/topic';
const bus = await TopicChannel.openOrCreate('metrics', { ringSize: 4096 });
bus.on('first-subscription', () => console.log('reader active'));
bus.on('overrun', (o) => console.log('lost', o.lostBytes, 'bytes', o.lostMessages ?? 'unknown', 'messages'));
bus.on('last-subscription-closed', () => console.log('reader idle'));
const ac = new AbortController();
const sub = bus.subscribe('/cpu', { signal: ac.signal });
for (let i = 0; i < 200; i++) bus.publish('/cpu', new Uint8Array(64));  // laps the idle reader
setTimeout(() => ac.abort(), 100);
try { for await (const m of sub) console.log('after resync', m.seq); }
catch (e) { console.log(e.code); }                                   // ERR_ABORTED
bus.close(); TopicChannel.unlink('metrics');
