// topic.transfer (topic.md §9): (ring MiB, messages, payload) = (1, 1, 10) one-message latency,
// (4, 100 000, 10), (1, 1 000 000, 50); backpressure wait 2 ms then overwrite (the cell fails if the
// subscriber is overrun); spin, hybrid, block; zeromq PUB/SUB of the same stream in the same run.
import { defineScenario, type Scenario } from '../api.js';

const points = [[1, 1, 10, '1m-1'], [4, 100_000, 10, '4m-100k'], [1, 1_000_000, 50, '1m-1m']] as const;
const stream = (id: string, title: string, entry: string, msgs: number, size: number, s: Partial<Scenario>): Scenario => ({
  id, title, package: '@shmkit/topic', impl: 'topic', pattern: 'throughput',
  roles: [{ name: 'writer', entry, cpu: 'A' }, { name: 'reader', entry, cpu: 'B' }],
  sizes: { full: [size], quick: [size] }, modes: ['spin', 'hybrid', 'block'], placements: ['unpinned'],
  iterations: { full: msgs, quick: msgs }, warmup: { full: 0, quick: 0 }, runs: { full: msgs === 1 ? 10 : 3, quick: 1 },
  baselines: [], unit: 'msgs/s end-to-end', quick: false, ...s,
});
for (const [mib, msgs, size, tag] of points) {
  const what = msgs === 1 ? `one ${size}-B message (latency = 1 / msgs/s)` : `${msgs} messages of ${size} B`;
  const zmq = msgs > 1;
  defineScenario(stream(`topic.transfer-${tag}`, `${what} through a ${mib} MiB topic ring, publish(), backpressure wait 2 ms then overwrite; fails if the subscriber overruns`, 'topic-stream', msgs, size, {
    params: { ringMiB: mib, bpWaitMs: 2 },
    compare: zmq ? [{ scenario: `topic.transfer-${tag}-zmq`, label: 'topic / zeromq (msgs/s)' }] : undefined,
  }));
  if (zmq) {
    defineScenario(stream(`topic.transfer-${tag}-zmq`, `${what} over zeromq PUB/SUB (ipc://, prefix subscription, unlimited high-water marks) — see topic.transfer-${tag}`, 'topic-zmq', msgs, size, {
      impl: 'zeromq', modes: ['n/a'], runs: { full: msgs >= 1_000_000 ? 1 : 3, quick: 1 },
    }));
  }
}
