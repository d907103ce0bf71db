/**
 * The `udp-multicast` notifier (Toroni's wake-up): one receive socket per (group, port) per process,
 * shared by every UDP reader of the process, bound with reuseAddr and joined on 127.0.0.1; its
 * datagrams signal each reader's private eventfd, whose Waiter then re-checks. Writers send one
 * 0-byte datagram per ring from a separate send-only socket (so writers never receive their own).
 * Uses node:dgram only. Both sockets are unref'd: they never keep a process alive.
 */
import dgram from 'node:dgram';
import type { WakeHandle } from '@shmkit/shm-core';

interface Receiver { sock: dgram.Socket; handles: Set<WakeHandle> }
const receivers = new Map<string, Receiver>();

/** Registers `wake` for datagrams to group:port; returns the unregister function. */
export function udpRegister(group: string, port: number, wake: WakeHandle): () => void {
  const key = `${group}:${port}`;
  let rec = receivers.get(key);
  if (!rec) {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const r: Receiver = { sock, handles: new Set() };
    sock.on('message', () => { for (const h of r.handles) { try { h.signal(); } catch { /* closed */ } } });
    sock.on('error', () => { /* a lost wake-up costs at most recheckMs */ });
    // bind and join complete asynchronously: a datagram sent before that is lost, so once joined every
    // reader registered so far re-checks its ring (one spurious wake at most, never a missed one).
    sock.bind(port, () => {
      try { sock.addMembership(group, '127.0.0.1'); } catch { /* no multicast: recheck only */ }
      for (const h of r.handles) { try { h.signal(); } catch { /* closed */ } }
    });
    sock.unref();
    receivers.set(key, r);
    rec = r;
  }
  const r = rec;
  r.handles.add(wake);
  return () => {
    r.handles.delete(wake);
    if (r.handles.size === 0 && receivers.get(key) === r) { receivers.delete(key); try { r.sock.close(); } catch { /* closed */ } }
  };
}

let sender: dgram.Socket | undefined;
let bound = false;
const queued: Array<[string, number]> = [];
const EMPTY = Buffer.alloc(0);

/** Sends one 0-byte datagram to group:port (loopback interface). */
export function udpSend(group: string, port: number): void {
  if (!sender) {
    const s = dgram.createSocket('udp4');
    sender = s;
    s.on('error', () => { /* dropped: readers recheck */ });
    s.bind(0, () => {
      try { s.setMulticastInterface('127.0.0.1'); s.setMulticastLoopback(true); } catch { /* ignore */ }
      bound = true;
      for (const [g, p] of queued.splice(0)) s.send(EMPTY, p, g);
    });
    s.unref();
  }
  if (!bound) { queued.push([group, port]); return; }
  sender.send(EMPTY, port, group);
}
