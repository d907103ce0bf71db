import { RmpChannel, SKIP } from '@shmkit/rmp';
const ch = await RmpChannel.openOrCreate('ticks');
const r = ch.createReader();
const w = ch.createWriter();
w.writeWith(8, (ring, off) => new DataView(ring.buffer, ring.byteOffset + off, 8).setFloat64(0, 42.5, true));
let sum = 0;
r.drainWith({
  inspect: (view) => (view.length === 8 ? new DataView(view.buffer, view.byteOffset, 8).getFloat64(0, true) : SKIP),
  commit: (price) => { sum += price; },        // runs only if the bytes were intact
});
console.log(sum);                              // 42.5
ch.close(); RmpChannel.unlink('ticks');
