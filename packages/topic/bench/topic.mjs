// Self-contained topic micro-benchmarks (run after `pnpm build`): node bench/topic.mjs [--quick]
// Prints one JSON document (best of 3 passes per cell). Single process, publish one then drain one (no waiting):
//   topic.match64   : 1 matching subscription, 64 B payload, topic vs raw rmp write()+drain()
//   topic.skip64k   : non-matching 64 KiB messages skipped without copying, vs raw rmp drain (copies)
//                     and vs a matching topic subscription (copies once, copy:false view)
import { RmpChannel } from '@shmkit/rmp';
import { TopicChannel } from '@shmkit/topic';

const quick = process.argv.includes('--quick');
const tag = `bench-${process.pid}`;
const now = () => Number(process.hrtime.bigint()) / 1e9;
function cell(name, messages, seconds, extra = {}) {
  return { name, messages, seconds: +seconds.toFixed(6), msgPerSec: Math.round(messages / seconds), nsPerMsg: +((seconds * 1e9) / messages).toFixed(1), ...extra };
}
/** Best of 3 timed passes after one untimed pass (JIT, page faults of the fresh ring); the machine is noisy. */
function timeIt(n, step) {
  for (let i = 0; i < n; i++) step(i);
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = now();
    for (let i = 0; i < n; i++) step(i);
    best = Math.min(best, now() - t0);
  }
  return best;
}

function topicRun(name, ringSize, subTopic, pubTopic, size, n) {
  const ch = TopicChannel.create(`${tag}-${name}`, { ringSize, maxReaders: 2 });
  let got = 0;
  ch.subscribe(subTopic, () => { got++; }, { copy: false });
  const payload = new Uint8Array(size);
  const secs = timeIt(n, () => { ch.publish(pubTopic, payload); ch._drainNow(); });
  const st = ch.stats();
  ch.close(); TopicChannel.unlink(`${tag}-${name}`);
  return { secs, got, copied: st.payloadBytesCopied, skipped: st.skippedNoMatch };
}
function rmpRun(name, ringSize, size, n) {
  const ch = RmpChannel.create(`${tag}-${name}`, { ringSize, maxReaders: 2 });
  const w = ch.createWriter(), r = ch.createReader();
  let got = 0;
  const sink = () => { got++; };
  const payload = new Uint8Array(size);
  const secs = timeIt(n, () => { w.write(payload); r.drain(sink); });
  ch.close(); RmpChannel.unlink(`${tag}-${name}`);
  return { secs, got };
}

const out = { suite: '@shmkit/topic', node: process.version, quick, scenarios: [] };
{
  const n = quick ? 50_000 : 500_000;
  const t = topicRun('m64', 4 << 20, '/channel/foo/bar', '/channel/foo/bar', 64, n);
  const r = rmpRun('r64', 4 << 20, 64 + 24, n); // same ring bytes per message: rmp payload = topic record
  out.scenarios.push({ id: 'topic.match64', payload: 64, cells: [
    cell('topic publish+drain, 1 matching subscription', n, t.secs),
    cell('raw rmp write+drain (88 B payload = the topic record)', n, r.secs),
  ], overheadPct: +((t.secs / r.secs - 1) * 100).toFixed(1) });
}
{
  const n = quick ? 2_000 : 20_000;
  const size = 64 * 1024;
  const skip = topicRun('s64k', 4 << 20, '/wanted', '/unwanted', size, n);
  const match = topicRun('c64k', 4 << 20, '/wanted', '/wanted', size, n);
  const raw = rmpRun('r64k', 4 << 20, size + 16, n);
  out.scenarios.push({ id: 'topic.skip64k', payload: size, cells: [
    cell('topic, non-matching (skip, no copy)', n, skip.secs, { payloadBytesCopied: skip.copied }),
    cell('topic, matching (one copy)', n, match.secs, { payloadBytesCopied: match.copied }),
    cell('raw rmp drain (copies every payload)', n, raw.secs),
  ], skipSpeedupVsCopy: +(raw.secs / skip.secs).toFixed(2) });
}
console.log(JSON.stringify(out, null, 2));
