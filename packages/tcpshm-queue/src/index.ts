export { TcpshmError, isTcpshmError, TCPSHM_ERROR_CODES } from './errors.js';
export type { TcpshmErrorCode } from './errors.js';
export { TCPSHM_DEFAULTS, TCPSHM_REJECT_TEXT } from './options.js';
export type { TcpshmWireOptions, TcpshmCommonOptions, WaitConfig } from './options.js';
