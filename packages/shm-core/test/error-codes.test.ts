import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, ShmkitError, isShmkitError, type ShmkitErrorCode } from '../src/index.js';

// The package rows of shm-core.md §3.3 (meanings in each package's spec).
const PACKAGE_CODES: Record<string, { prefix: string; codes: string[] }> = {
  rmp: { prefix: 'ERR_RMP_', codes: ['INACTIVE'] },
  topic: { prefix: 'ERR_TOPIC_', codes: ['INVALID'] },
  'tcpshm-queue': {
    prefix: 'ERR_TCPSHM_',
    codes: ['LOGIN_REJECTED', 'SEQ_MISMATCH', 'LOGIN_FAILED', 'LOGIN_TIMEOUT', 'INVALID_LOGIN_RSP', 'ALREADY_CONNECTED',
      'CONNECT', 'FILE', 'FILE_LOCKED', 'PTCP_CORRUPT', 'LASTSERVER_CORRUPT', 'NOT_SAME_HOST', 'CONFIG_MISMATCH',
      'CHECK_UNSUPPORTED', 'RESERVED_MSG_TYPE', 'NO_PENDING_ALLOC', 'NOTHING_TO_POP', 'BAD_FRAME', 'FRAME_TOO_LARGE',
      'ACK_OUT_OF_RANGE', 'REMOTE_CLOSE', 'SOCKET', 'CLOSED_BY_APP', 'REPLACED', 'EVICTED', 'BAD_LOGIN', 'INVALID_GROUP',
      'HANDLER_FAILED'],
  },
  'elkodon-events': { prefix: 'ERR_ELKODON_', codes: ['UNABLE_TO_DELIVER', 'AUTO_NOTIFY_DISABLED'] },
  'flow-session': {
    prefix: 'ERR_FLOW_',
    codes: ['SERVER_IDENTITY', 'LOGIN_REJECTED', 'TOKEN_MISMATCH', 'CHANNEL_REJECTED', 'CHANNEL_UPGRADED', 'CODEC_MISMATCH',
      'WRONG_SESSION', 'BAD_MESSAGE', 'HANDLER_EXISTS'],
  },
  shmipc: {
    prefix: 'ERR_SHMIPC_',
    codes: ['HANDSHAKE_REJECTED', 'PEER_NOT_ALLOWED', 'UNSUPPORTED_PEER', 'STREAM_CLOSED', 'NO_SESSION', 'STREAM_IDS_EXHAUSTED',
      'CHAINED'],
  },
};
// Error prefixes of the package table (shm-core.md §3.4).
const PREFIXES = ['ERR_RMP_', 'ERR_TOPIC_', 'ERR_TCPSHM_', 'ERR_ELKODON_', 'ERR_FLOW_', 'ERR_SHMIPC_'];

describe('ERROR_CODES', () => {
  const keys = Object.keys(ERROR_CODES);
  it('keys are unique, well-formed and each has a one-line meaning', () => {
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) {
      expect(k).toMatch(/^ERR_[A-Z0-9_]+$/);
      const meaning = ERROR_CODES[k as ShmkitErrorCode];
      expect(meaning.length).toBeGreaterThan(0);
      expect(meaning).not.toContain('\n');
    }
  });

  it.each(Object.entries(PACKAGE_CODES))('holds every %s code of the §3.3 package table, in its own section', (_pkg, { prefix, codes }) => {
    const section = keys.filter((k) => k.startsWith(prefix));
    expect(section).toEqual(codes.map((c) => prefix + c));
    // One contiguous section per package: the codes of a package are not scattered through the table.
    const first = keys.indexOf(section[0]!);
    expect(keys.slice(first, first + section.length)).toEqual(section);
  });

  it('every package of the §3.4 prefix table has its section (no prefix without codes)', () => {
    expect(Object.values(PACKAGE_CODES).map((p) => p.prefix).sort()).toEqual([...PREFIXES].sort());
    for (const p of PREFIXES) expect(keys.some((k) => k.startsWith(p)), p).toBe(true);
  });

  it('package sections follow the §3.3 table order: rmp, topic, tcpshm-queue, elkodon-events, flow-session, shmipc', () => {
    const firstOf = PREFIXES.map((p) => keys.findIndex((k) => k.startsWith(p)));
    expect([...firstOf].sort((a, b) => a - b)).toEqual(firstOf);
  });

  it('package codes come after every shared code, and every prefixed code belongs to a known package', () => {
    const firstPackaged = keys.findIndex((k) => PREFIXES.some((p) => k.startsWith(p)));
    expect(firstPackaged).toBeGreaterThan(0);
    for (const k of keys.slice(firstPackaged)) expect(PREFIXES.some((p) => k.startsWith(p)), k).toBe(true);
  });

  it('a package code works like any other code', () => {
    const e = new ShmkitError('ERR_TCPSHM_FILE_LOCKED', 'ring held', { details: { path: '/x', role: 'producer' } });
    expect(isShmkitError(e, 'ERR_TCPSHM_FILE_LOCKED')).toBe(true);
    expect(e.message).toBe('ring held');
    expect(new ShmkitError('ERR_RMP_INACTIVE').message).toBe(ERROR_CODES.ERR_RMP_INACTIVE);
    expect(e.toJSON()).toMatchObject({ code: 'ERR_TCPSHM_FILE_LOCKED', details: { role: 'producer' } });
  });

  it("no ShmkitError('<code>' literal in the repository's package sources is missing from the table", () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        if (f === 'node_modules' || f === 'dist' || f.startsWith('.')) continue;
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p); else if (/\.[cm]?ts$/.test(f)) files.push(p);
      }
    };
    for (const pkg of readdirSync(root)) { try { walk(join(root, pkg, 'src')); } catch { /* no src */ } }
    expect(files.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/ShmkitError\(\s*'(ERR_[A-Z0-9_]+)'/g)) {
        if (!Object.hasOwn(ERROR_CODES, m[1]!)) missing.push(`${f}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
