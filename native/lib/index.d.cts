/** ABI version compiled into libshmkit.so; shm-core refuses a library with another value. */
export declare const SHIM_ABI_VERSION: 1;
/** Absolute path of build/libshmkit.so, resolved relative to this module. */
export declare function libraryPath(): string;
