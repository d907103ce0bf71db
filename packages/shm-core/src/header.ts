// The common segment header (§4.1) as a self-documenting layout; bytes 40–63 belong to the package.
import { defineLayout } from './layout.js';

export const COMMON_HEADER = defineLayout('shm-core.header', {
  magic: { type: 'u8', count: 4, offset: 0, doc: '`53 48 4D 4B` ("SHMK"); as a LE u32: `0x4B4D4853`' },
  packageId: { type: 'u16', offset: 4, doc: '§3.4 table' },
  kind: { type: 'u16', offset: 6, doc: 'object kind, defined by the package (0 if it has one kind)' },
  layoutMajor: { type: 'u16', offset: 8, doc: 'incompatible layout changes bump it; openers require equality' },
  layoutMinor: { type: 'u16', offset: 10, doc: 'compatible additions (in reserved space); openers require ≥ their minimum' },
  initialized: { type: 'i32', offset: 12, doc: '0 while building; `0x54494E49` ("INIT") ready, stored last; `0x44414544` ("DEAD") after `unlink()`' },
  totalSize: { type: 'u64', offset: 16, doc: 'object size in bytes (= `fstat` size)' },
  creatorPid: { type: 'u32', offset: 24, doc: 'pid of the creating process (in its pid namespace)' },
  headerSize: { type: 'u32', offset: 28, doc: "offset of the package's data; multiple of 8, 64 ≤ headerSize ≤ totalSize" },
  creatorStartTime: { type: 'u64', offset: 32, doc: "creator's start time, clock ticks after boot (field 22 of `/proc/<pid>/stat`)" },
}, { size: 64 });
