export { TcpshmServer } from './server.js';
export type { TcpshmServerOptions, TcpshmServerEvents, TcpshmServerMetrics, LoginRequestInfo, NewConnectionDecision } from './server.js';
export { TcpshmClient } from './client.js';
export type { TcpshmClientOptions, TcpshmClientEvents, TcpshmClientMetrics, ConnectOptions, ReconnectOptions,
  LoginResponseInfo, SeqMismatchInfo, LoginRejectReason } from './client.js';
export type { TcpshmConnection, TcpshmConnectionEvents, Message, MessageHandler, ConnectionStats } from './connection.js';
export type { ShmCheckResult } from './internal/shm-check.js';
export { TcpshmError, isTcpshmError, TCPSHM_ERROR_CODES } from './errors.js';
export type { TcpshmErrorCode } from './errors.js';
export { TCPSHM_DEFAULTS, TCPSHM_REJECT_TEXT } from './options.js';
export type { TcpshmWireOptions, TcpshmCommonOptions, WaitConfig } from './options.js';
export { removeTcpshmState } from './remove.js';
