export interface ConnectionStats {
  myAck: number; readSeq: number; seqEnd: number;
  sendQueueMessages: number; sendQueueBytes: number; sendQueueCapacity: number; unsentBytes: number;
  recvPendingMessages: number; recvPendingBytes: number;
  messagesSent: number; messagesReceived: number; bytesSent: number; bytesReceived: number;
  resentMessages: number;
  heartbeatsSent: number; heartbeatsReceived: number; ackHeartbeats: number;
  logins: number; disconnects: number;
  parks: number; wakeupsSent: number; wakeupsReceived: number;
  ignoredFrames: number; typeZeroMessages: number; journalRecoveries: number; msyncs: number;
}
export const newCounters = () => ({
  messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0, resentMessages: 0,
  heartbeatsSent: 0, heartbeatsReceived: 0, ackHeartbeats: 0, logins: 0, disconnects: 0,
  parks: 0, wakeupsSent: 0, wakeupsReceived: 0, ignoredFrames: 0, typeZeroMessages: 0,
});
export type Counters = ReturnType<typeof newCounters>;
