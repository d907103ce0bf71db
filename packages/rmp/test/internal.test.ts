import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { uniqueName } from '@shmkit/testkit';
import { extWords, makeIntrospector, RmpChannel } from '../src/internal/index.js';

describe('./internal (layered packages)', () => {
  it('a channel under the topic token: topic object names, packageId 3, ext words, its introspector', async () => {
    const name = uniqueName('ns');
    const ch = RmpChannel.create(name, { package: 'topic', ringSize: 1024, maxReaders: 2 });
    try {
      expect(existsSync(`/dev/shm/shmkit.topic.${name}.ring`)).toBe(true);
      expect(existsSync(`/dev/shm/shmkit.rmp.${name}.ring`)).toBe(false);
      expect(ch._core.ringSeg.dataView().getUint16(4, true)).toBe(3);
      expect(() => RmpChannel.openSync(name)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
      const other = RmpChannel.openSync(name, { package: 'topic' });
      const r = other.createReader();
      expect(existsSync(`/dev/shm/shmkit.topic.${name}.wake-${r.slot}`)).toBe(true);
      Atomics.add(extWords(ch), 0, 1n);
      expect(Atomics.load(extWords(other), 0)).toBe(1n);
      ch.createWriter().write(Uint8Array.of(1));
      expect(r.drain(() => {})).toBe(1);
      const res = await makeIntrospector('topic').inspect({ package: 'topic', name }, { raw: false });
      expect(res.summary).toMatchObject({ messages: 1n, activeReaders: 1 });
      other.close();
    } finally { ch.close(); RmpChannel.unlink(name, { package: 'topic' }); }
    expect(existsSync(`/dev/shm/shmkit.topic.${name}.readers`)).toBe(false);
  });
});
