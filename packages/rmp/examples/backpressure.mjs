import { RmpChannel, isShmkitError } from '@shmkit/rmp';
const ch = await RmpChannel.openOrCreate('log', { ringSize: 4096 });
const r = ch.createReader({ autoResync: true,
  onOverrun: (o) => console.log('lost', o.lostBytes, 'bytes,', o.lostMessages ?? 'unknown', 'messages') });
const w = ch.createWriter({ backpressure: { policy: 'custom',
  decide: (i) => (i.sameThread || i.readerAlive === false ? 'overwrite' : { retryAfterMs: 1 }) } });
try { for (let i = 0; i < 1000; i++) w.write(new Uint8Array(100)); }
catch (e) { if (!isShmkitError(e, 'ERR_WOULD_BLOCK')) throw e; }
r.drain(() => {});                             // overrun detected, resynced, counted
w.write(Uint8Array.of(1));
r.drain((p, seq) => console.log('after resync', seq, r.stats.overruns));
ch.close(); RmpChannel.unlink('log');
