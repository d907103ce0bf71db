export const hex = (s: string): Uint8Array => {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const b = new Uint8Array(clean.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return b;
};
/** Hex with `NN:` offset prefixes stripped and `a..b: all 00` ranges expanded, padded with zeros to `len`. */
export const vector = (text: string, len: number): Uint8Array => {
  const out = new Uint8Array(len);
  let pos = 0;
  for (const part of text.split(/\s+(?=\d+(?:\.\.\d+)?:)/)) {
    const m = /^(\d+)(?:\.\.(\d+))?:\s*(.*)$/s.exec(part.trim());
    if (!m) continue;
    pos = Number(m[1]);
    if (m[2] !== undefined) { out.fill(0, pos, Number(m[2]) + 1); continue; }
    const bytes = hex(m[3]!);
    out.set(bytes, pos);
  }
  return out;
};
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
