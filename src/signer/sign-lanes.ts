import type { SignLane } from '../native/sign-lane';
import { MAX_SIGN_THREADS } from '../native/sign-ring';

/** Checks a signThreads setting: 0 to 64, and not beside a pool size (each thread owns one session). */
export function checkSignThreads(threads: number, sessionsSet: boolean): void {
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_SIGN_THREADS) {
    throw new RangeError(`signThreads must be an integer from 0 to ${MAX_SIGN_THREADS}, got ${threads}`);
  }
  if (threads > 0 && sessionsSet) {
    throw new RangeError('sessions and signThreads cannot both be set: each signing thread owns one session');
  }
}

/** Where the lanes' sessions and threads come from: an SDF device's or a PKCS#11 token's. */
export interface LaneSource<S> {
  /** A session ready to sign (logged in, the key checked). */
  create(): Promise<S>;
  dispose(session: S): Promise<void>;
  /** No more calls may be made on it (closed, or retired by a call past its deadline). */
  closed(session: S): boolean;
  /** A signing thread for sessions like this one. */
  startThread(session: S): Promise<SignLane>;
  /** Hands `digest` to `thread` to sign with the key on `session`. */
  signOn(thread: SignLane, session: S, digest: Uint8Array): Promise<Uint8Array>;
  /** After `error`, the session may not be used again. */
  isBroken(error: unknown, session: S): boolean;
  /** For a session idle for long: asks the device something cheap, and checks the key is still the signer's. */
  checkIdle?(session: S): Promise<void>;
}

/** A signing thread and the session its calls are made on. */
interface Lane<S> {
  readonly thread: SignLane;
  readonly session: S;
  /** When it was last handed a call; undefined while fresh (its session's key was just read). */
  lastUsed: number | undefined;
  /** The idle check running on its session; the lane takes no calls meanwhile. */
  checking: Promise<void> | null;
}

/**
 * Signing threads for a fast device (`signThreads`): each owns a session and signs the digests it
 * is handed synchronously, many queued at a time, so that the event loop's cost per signature is
 * a write to shared memory, not a thread-pool hop. A digest goes to the lane with the fewest calls
 * queued. A lane whose session fails with a link or session code, or whose thread is stuck in a
 * call past its deadline, is dropped (its session closed, or left behind until the call returns)
 * and started afresh when next needed; a lane idle for long has its session checked first, where
 * the source knows how.
 */
export class SignLanes<S> {
  private readonly lanes: Lane<S>[] = [];
  /** Lanes dropped and not started again yet. */
  private missing = 0;
  private readonly waiting: (() => void)[] = [];
  /** sign() calls not yet settled, for close(). */
  private active = 0;
  private drained: (() => void) | null = null;
  private readonly drops = new Set<Promise<void>>();
  /** A dropped lane being started again in the background. */
  private restoring: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly source: LaneSource<S>,
    private readonly threads: number,
    private readonly healthCheckIdleMs: number,
    private readonly closedError: () => Error,
  ) {}

  static async open<S>(
    source: LaneSource<S>,
    threads: number,
    healthCheckIdleMs: number,
    closedError: () => Error,
  ): Promise<SignLanes<S>> {
    const lanes = new SignLanes(source, threads, healthCheckIdleMs, closedError);
    try {
      // One after another, as the pool opens its sessions: a session that cannot be opened
      // reopens the device, which closes every session opened on it so far.
      for (let i = 0; i < threads; i++) await lanes.startLane();
    } catch (error) {
      await lanes.close().catch(() => undefined);
      throw error;
    }
    return lanes;
  }

  get size(): number {
    return this.threads;
  }

  /** Calls queued or running on the threads. */
  get inUse(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.thread.outstanding, 0);
  }

  sign(digest: Uint8Array): Promise<Uint8Array> {
    if (this.closing) return Promise.reject(this.closedError());
    this.active++;
    if (this.missing > 0) this.restore();
    // first come, first served: while callers wait for room, a new one queues behind them
    const lane = this.waiting.length === 0 ? this.readyLane() : undefined;
    return lane ? this.signOn(lane, digest) : this.signWhenReady(digest);
  }

  /**
   * Waits for a lane with room, starting or checking lanes as needed, and hands it the digest in
   * the same turn it finds the room (another caller could take it in between otherwise).
   */
  private async signWhenReady(digest: Uint8Array): Promise<Uint8Array> {
    try {
      for (;;) {
        // A session closed under its lane (the device was reopened) takes no calls: start afresh.
        for (const closed of this.lanes.filter((lane) => this.source.closed(lane.session) && !lane.checking)) {
          this.drop(closed);
        }
        const ready = this.readyLane();
        if (ready) return await this.signOn(ready, digest, false);
        const due = this.lanes.find(
          (lane) =>
            !lane.checking && !lane.thread.retired && !this.source.closed(lane.session) && this.dueForCheck(lane),
        );
        if (due) {
          await this.check(due);
          // others woken meanwhile may have started another check on it: never beside one
          if (this.lanes.includes(due) && !due.checking && due.thread.room > 0 && !this.source.closed(due.session)) {
            return await this.signOn(due, digest, false);
          }
        } else if (this.missing > 0) {
          this.missing--;
          try {
            await this.startLane();
          } catch (error) {
            this.missing++;
            this.waiting.shift()?.(); // the next caller tries too, rather than waiting for a lane that may never come
            throw error;
          }
        } else {
          await new Promise<void>((resolve) => this.waiting.push(resolve));
        }
      }
    } finally {
      this.settled();
    }
  }

  /** Hands the digest to the lane; `settles`: this sign ends here (not in signWhenReady). */
  private signOn(lane: Lane<S>, digest: Uint8Array, settles = true): Promise<Uint8Array> {
    lane.lastUsed = Date.now();
    return this.source.signOn(lane.thread, lane.session, digest).then(
      (signature) => {
        if (settles) this.settled();
        return signature;
      },
      (error: unknown) => {
        if (this.source.isBroken(error, lane.session) || lane.thread.retired) this.drop(lane);
        if (settles) this.settled();
        throw error;
      },
    );
  }

  private settled(): void {
    this.waiting.shift()?.();
    if (--this.active === 0) this.drained?.();
  }

  /** The lane with the fewest calls queued that can take one now, unless it is due for its idle check. */
  private readyLane(): Lane<S> | undefined {
    let best: Lane<S> | undefined;
    for (const lane of this.lanes) {
      if (lane.checking || lane.thread.room === 0 || this.source.closed(lane.session)) continue;
      if (!best || lane.thread.outstanding < best.thread.outstanding) best = lane;
    }
    return best && this.dueForCheck(best) ? undefined : best;
  }

  private dueForCheck(lane: Lane<S>): boolean {
    return (
      this.source.checkIdle !== undefined &&
      lane.thread.outstanding === 0 &&
      lane.lastUsed !== undefined &&
      Date.now() - lane.lastUsed >= this.healthCheckIdleMs
    );
  }

  private async startLane(): Promise<void> {
    const session = await this.source.create();
    let thread: SignLane;
    try {
      thread = await this.source.startThread(session);
    } catch (error) {
      await this.source.dispose(session);
      throw error;
    }
    const lane: Lane<S> = { thread, session, lastUsed: undefined, checking: null };
    this.lanes.push(lane);
    // a thread that ends by itself (it failed) takes its lane with it
    void thread.ended.then(() => this.drop(lane));
  }

  /** An idle lane's session may have been dropped by the device: ask it something cheap first. */
  private check(lane: Lane<S>): Promise<void> {
    lane.checking ??= (this.source.checkIdle?.(lane.session) ?? Promise.resolve())
      .then(() => {
        lane.lastUsed = Date.now();
      })
      .catch((error: unknown) => {
        if (this.source.isBroken(error, lane.session)) this.drop(lane);
        throw error;
      })
      .finally(() => {
        lane.checking = null;
        for (const wake of this.waiting.splice(0)) wake();
      });
    return lane.checking;
  }

  /**
   * Starts a dropped lane again in the background, one at a time, so that the lanes come back to
   * their number even when the others have room for every call (each holds up to 64). A failure
   * leaves it missing for the next sign to try again.
   */
  private restore(): void {
    if (this.restoring || this.closing || this.missing === 0) return;
    this.missing--;
    this.restoring = this.startLane()
      .catch(() => void this.missing++)
      .finally(() => {
        this.restoring = null;
        for (const wake of this.waiting.splice(0)) wake();
      });
  }

  /**
   * Takes a broken lane out: the calls queued on it are made elsewhere, and its thread ends and its
   * session closes once the call it is making is done.
   */
  private drop(lane: Lane<S>): void {
    const at = this.lanes.indexOf(lane);
    if (at < 0) return;
    this.lanes.splice(at, 1);
    lane.thread.handBackQueued('its session broke');
    this.missing++;
    const drop = this.end(lane).catch(() => undefined);
    this.drops.add(drop);
    void drop.then(() => this.drops.delete(drop));
    for (const wake of this.waiting.splice(0)) wake();
    this.restore();
  }

  private async end(lane: Lane<S>): Promise<void> {
    lane.thread.retire();
    if (!lane.thread.stuck) await lane.thread.whenIdle();
    await Promise.all([lane.thread.stop(), this.source.dispose(lane.session)]);
  }

  /** Lets the signatures asked for finish, then ends every thread and closes every session. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.restoring;
    const results = await Promise.allSettled([...this.drops, ...this.lanes.splice(0).map((lane) => this.end(lane))]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
