// What TcpshmClient and TcpshmServer share: option resolution and name validation, the login layout, the SHM
// driver, the message handler, the ConnectionOwner plumbing, and the heartbeat/timeout tick (§5.6 step 1).
import { EventEmitter } from 'node:events';
import type { TcpshmError } from '../errors.js';
import { resolveCommon, type Resolved, type TcpshmCommonOptions } from '../options.js';
import type { ConnectionOwner, MessageHandler, TcpshmConnection } from '../connection.js';
import { validateLocalName } from './names.js';
import { loginLayout, type LoginLayout } from './wire.js';
import { Driver } from './driver.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export abstract class OwnerBase<E extends Record<keyof E, any[]>> extends EventEmitter<E> implements ConnectionOwner {
  readonly name: string;
  /** @internal resolved options */
  protected readonly o: Resolved;
  /** @internal login frame layout */
  protected readonly layout: LoginLayout;
  /** @internal the SHM driver of all this owner's links */
  protected readonly driver: Driver;
  #onMessage: MessageHandler | undefined;
  #tick: NodeJS.Timeout | undefined;

  constructor(options: TcpshmCommonOptions & { onMessage?: MessageHandler }) {
    super();
    this.o = resolveCommon(options);
    validateLocalName(options.name, this.o.nameSize, this.o.nameRule);
    this.name = options.name;
    this.layout = loginLayout(this.o);
    this.driver = new Driver(this.o, (e) => this.error(e));
    this.#onMessage = options.onMessage;
  }

  /** The message handler (reference OnClientMsg/OnServerMsg). Setting it delivers what is already buffered. */
  get onMessage(): MessageHandler | undefined { return this.#onMessage; }
  set onMessage(h: MessageHandler | undefined) { this.#onMessage = h; if (h) this.kickAll(); }
  /** @internal re-arms delivery on every live, unheld connection. */
  protected abstract kickAll(): void;
  /** Re-arms one live connection: the SHM driver, or a TCP redelivery. */
  protected rearm(c: TcpshmConnection): void {
    if (c.isClosed || !c.isOpen || c.held) return;
    if (c.mode === 'shm') this.driver.kick(c); else c.resume();
  }

  // ConnectionOwner
  handler(): MessageHandler | undefined { return this.#onMessage; }
  error(err: TcpshmError): void { const ee = this as unknown as EventEmitter; if (ee.listenerCount('error') > 0) ee.emit('error', err); }
  kick(conn: TcpshmConnection): void { this.driver.kick(conn); }
  canParkForSpace(conn: TcpshmConnection): boolean { return this.driver.canParkForSpace(conn); }
  abstract linkEnded(conn: TcpshmConnection, reason: TcpshmError, byApp: boolean): void;

  /** @internal One unref'd interval for all links: clamp(min(heartbeat, timeout)/4, 10, 500) ms. `stalled`: the
   *  event loop was blocked for longer than two ticks, so input may be waiting unread. */
  protected startTick(each: (now: number, stalled: boolean) => void): void {
    if (this.#tick) return;
    const ms = Math.min(500, Math.max(10, Math.min(this.o.heartbeatIntervalMs, this.o.connectionTimeoutMs) / 4));
    let last = performance.now();
    this.#tick = setInterval(() => {
      const now = performance.now();
      const stalled = now - last > 2 * ms + 50;
      last = now;
      each(now, stalled);
    }, ms);
    this.#tick.unref();
  }
  /** @internal */
  protected stopTick(): void { if (this.#tick) { clearInterval(this.#tick); this.#tick = undefined; } }
}
