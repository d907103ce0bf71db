import { RmpChannel } from '@shmkit/rmp';
const ch = await RmpChannel.openOrCreate('demo', { ringSize: 1 << 20 });
const reader = ch.createReader();              // joins at the stream end
const writer = ch.createWriter();
for (let i = 0; i < 3; i++) writer.write(new TextEncoder().encode(`hello ${i}`));
let n = 0;
for await (const m of reader) {
  console.log(m.seq, new TextDecoder().decode(m.payload));
  if (++n === 3) break;
}
ch.close();                                    // closes reader and writer too
RmpChannel.unlink('demo');
