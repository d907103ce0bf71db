import { fileURLToPath } from 'node:url';
export const SHIM_ABI_VERSION = 1;
export function libraryPath() { return fileURLToPath(new URL('../build/libshmkit.so', import.meta.url)); }
