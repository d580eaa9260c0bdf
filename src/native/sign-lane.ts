/**
 * A signing thread with its ring: signatures made synchronously on a worker thread instead of
 * async calls on the libuv pool, whose hand-offs cost the event loop more than a fast device's
 * signature. The event loop writes each call into a slot of shared memory and wakes the thread
 * only when it sleeps; the thread wakes the event loop once for however many calls finished
 * meanwhile. Every call keeps the deadline, session bookkeeping and output checks of a call on
 * the pool. What is SDF or PKCS#11 about it (the device call, its errors, its output) comes from
 * the lane's host.
 */
import { Worker } from 'node:worker_threads';
import type { CallWatcher } from './async-call';
import { builtScript } from './built-script';
import { TrackedCall, type CallDeadlines } from './call-deadlines';
import type { SignThreadData } from './sign-thread';
import {
  callsBetween,
  CANCELLED,
  COMPLETED,
  DATA_BYTES,
  next,
  QUEUED,
  RING_SLOTS,
  RUNNING,
  SignRing,
  SLEEPING,
  STOP,
  SUBMITTED,
  waitAsync,
} from './sign-ring';

/** A session calls can be made on from a signing thread. */
export interface LaneSession {
  /** Its handle as the thread passes it; throws, as a call would, once it takes no more calls. */
  threadCallHandle(): bigint;
  /** A call on a signing thread starts: the session counts it until its watcher hears it returned. */
  threadCallStarts(): CallWatcher;
}

/** What is particular to one library's signing threads: its device call, deadlines and errors. */
export interface SignLaneHost {
  /** What the thread loads and calls, and the room it gives the device's output (sign-thread.ts). */
  readonly threadCall: SignThreadData['call'];
  /** The library's path, for messages. */
  readonly libPath: string;
  /** The library's deadlines, which every call on the thread is watched by. */
  readonly deadlines: CallDeadlines;
  /** The error of a call past its deadline. */
  timeoutError(): Error;
  /** A call that was never made, the lane being retired: the signer makes it elsewhere. */
  notMadeError(why: string): Error;
  /** The thread did not start, or could not make a call, or ended in one. */
  threadFailedError(why: string): Error;
  /** The error the device's `code` means, returned by the thread's device call number `step`. */
  callError(step: number, code: number): Error;
  /** The signature from the output the device wrote (room and guard bytes) and the length it reported. */
  decode(output: Buffer, reportedLength: number): Uint8Array;
  /** A thread starts or ends calling the library. */
  threadStarted?(): void;
  threadEnded?(): void;
}

/**
 * The event loop also looks at the rings this often while calls are out, for answers a thread
 * finished just before a call that takes long (a thread wakes the event loop only every few
 * calls). One timer for every lane of the process: a timed wait per lane cost a core's tenth
 * with 64 lanes waiting on a slow card.
 */
const LOOK_EVERY_MS = 2;
const lanesWithCallsOut = new Set<SignLane>();
let looking: NodeJS.Timeout | null = null;

function lookAtRings(): void {
  for (const lane of lanesWithCallsOut) lane.look();
  if (lanesWithCallsOut.size === 0 && looking !== null) {
    clearInterval(looking);
    looking = null;
  }
}

class LaneCall extends TrackedCall {
  /** Answered already: past its deadline, or cancelled. */
  settled = false;

  constructor(
    private readonly lane: SignLane,
    readonly sequence: number,
    readonly watcher: CallWatcher,
    readonly resolve: (signature: Uint8Array) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
  }

  expire(): void {
    this.lane.expired(this);
  }
}

export class SignLane {
  private readonly calls: (LaneCall | undefined)[] = new Array(RING_SLOTS);
  /** Number of the next call to put in the ring, and of the next one to answer (32-bit, wrapping). */
  private submitted: number;
  private seen: number;
  private collecting = false;
  private retired_ = false;
  private stuck_ = false;
  private exited = false;
  private failure: unknown;
  private readonly drainWaiters: (() => void)[] = [];
  /** Settles once the thread has ended, for whatever reason. */
  readonly ended: Promise<void>;
  private markEnded!: () => void;

  private constructor(
    private readonly host: SignLaneHost,
    private readonly worker: Worker,
    private readonly ring: SignRing,
  ) {
    this.submitted = this.seen = Atomics.load(ring.cells, SUBMITTED);
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    // An error thrown in the thread ends it; heard here, it must not become the process's.
    worker.on('error', (error) => (this.failure = error));
    worker.on('exit', () => this.threadEnded());
    worker.unref();
  }

  /**
   * Starts a thread for `host`'s library and waits until it has loaded the library and is ready.
   * `firstCall` numbers its calls from elsewhere than 0 (tests of the 32-bit wrap).
   */
  static async start(host: SignLaneHost, firstCall = 0): Promise<SignLane> {
    const ring = new SignRing();
    Atomics.store(ring.cells, SUBMITTED, firstCall | 0);
    Atomics.store(ring.cells, COMPLETED, firstCall | 0);
    const data: SignThreadData = { memory: ring.memory, call: host.threadCall };
    const worker = new Worker(builtScript(__dirname, 'sign-thread.js'), { workerData: data, execArgv: [] });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: unknown) =>
        reject(host.threadFailedError(`the signing thread for ${host.libPath} did not start: ${String(error)}`));
      worker.once('message', () => {
        worker.off('error', failed);
        worker.off('exit', failed);
        resolve();
      });
      worker.once('error', failed);
      worker.once('exit', failed);
    });
    host.threadStarted?.();
    return new SignLane(host, worker, ring);
  }

  /** Calls queued or running on the thread. */
  get outstanding(): number {
    return callsBetween(this.seen, this.submitted);
  }

  /** Calls the ring can take now. */
  get room(): number {
    return this.retired_ ? 0 : RING_SLOTS - this.outstanding;
  }

  /** Takes no more calls: stopped, its thread ended, or stuck in a call past its deadline. */
  get retired(): boolean {
    return this.retired_;
  }

  /** Its thread is inside a call that passed its deadline. */
  get stuck(): boolean {
    return this.stuck_;
  }

  /** Signs `data` (a digest) with `key` on `session`. */
  sign(session: LaneSession, key: bigint, data: Uint8Array): Promise<Uint8Array> {
    if (this.room === 0) return Promise.reject(this.host.notMadeError('its signing thread is full or retired'));
    if (data.length > DATA_BYTES) {
      return Promise.reject(new RangeError(`a signing thread takes at most ${DATA_BYTES} bytes, got ${data.length}`));
    }
    let handle: bigint;
    try {
      handle = session.threadCallHandle();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const sequence = this.submitted;
      const slot = this.ring.slotAt(sequence);
      this.ring.setCall(slot, handle, key, data);
      this.ring.setState(slot, QUEUED);
      const call = new LaneCall(this, sequence, session.threadCallStarts(), resolve, reject);
      this.calls[sequence & (RING_SLOTS - 1)] = call;
      this.host.deadlines.start(call);
      const first = this.outstanding === 0;
      if (first) {
        lanesWithCallsOut.add(this);
        looking ??= setInterval(lookAtRings, LOOK_EVERY_MS).unref();
      }
      this.submitted = next(sequence);
      if (first) this.holdProcess();
      Atomics.store(this.ring.cells, SUBMITTED, this.submitted);
      if (Atomics.load(this.ring.cells, SLEEPING) === 1) this.ring.ring();
      this.collect();
    });
  }

  /**
   * Answers the calls the thread finished, then waits (without blocking) for the next to finish.
   * One wait is armed at a time; a finished call found right away is answered right away.
   */
  private collect = (): void => {
    if (this.collecting || this.exited) return;
    for (;;) {
      this.answerCompleted();
      if (this.seen === this.submitted) {
        this.idle();
        return;
      }
      const wait = waitAsync(this.ring.cells, COMPLETED, this.seen);
      if (wait.async) {
        this.collecting = true;
        void wait.value.then(this.woken);
        return;
      }
    }
  };

  private woken = (): void => {
    this.collecting = false;
    this.collect();
  };

  /** From the shared timer: answers what the thread finished without waking the event loop yet. */
  look(): void {
    if (this.exited) return;
    this.answerCompleted();
    if (this.seen === this.submitted) this.idle();
  }

  /** Answers the calls the thread has finished and the event loop not yet seen. */
  private answerCompleted(): void {
    const completed = Atomics.load(this.ring.cells, COMPLETED);
    while (callsBetween(this.seen, completed) > 0) {
      this.answer(this.seen);
      this.seen = next(this.seen);
    }
  }

  private answer(sequence: number): void {
    const call = this.calls[sequence & (RING_SLOTS - 1)] as LaneCall;
    this.calls[sequence & (RING_SLOTS - 1)] = undefined;
    const slot = this.ring.slotAt(sequence);
    this.ring.setState(slot, 0);
    call.watcher.returned();
    if (call.settled) return; // expired, or handed back (a slot is cancelled only then)
    call.settled = true;
    this.host.deadlines.finish(call);
    const code = this.ring.code(slot);
    if (this.ring.threw(slot)) {
      call.reject(this.host.threadFailedError('the device could not be called on the signing thread'));
    } else if (code !== 0) {
      call.reject(this.host.callError(this.ring.step(slot), code));
    } else {
      try {
        call.resolve(this.host.decode(this.ring.output(slot, this.host.threadCall.room), this.ring.outputLength(slot)));
      } catch (error) {
        call.reject(error);
      }
    }
  }

  /**
   * A call passed its deadline. Never started: it is skipped. Running: the thread is stuck in the
   * library, so the lane retires, and the calls queued behind it are handed back to be made
   * elsewhere (as a closed session's are: a retryable error).
   */
  expired(call: LaneCall): void {
    this.answerCompleted(); // the thread may have finished it and not woken the event loop yet
    if (call.settled) return;
    call.settled = true;
    const slot = this.ring.slotAt(call.sequence);
    if (!this.ring.claim(slot, QUEUED, CANCELLED) && this.ring.state(slot) === RUNNING) {
      call.watcher.expired();
      this.stuck_ = true;
      this.retire();
      this.holdProcess();
      this.wakeDrainWaiters();
      this.handBackQueued('its signing thread is stuck in a call', next(call.sequence));
    }
    call.reject(this.host.timeoutError());
  }

  /**
   * Gives back the calls the thread has not started (from `from` on), to be made elsewhere: the
   * host's not-made error, which the signer retries. For a lane whose session broke, or whose
   * thread is stuck.
   */
  handBackQueued(why: string, from = this.seen): void {
    for (let sequence = from; sequence !== this.submitted; sequence = next(sequence)) {
      const call = this.calls[sequence & (RING_SLOTS - 1)];
      if (!call || call.settled || !this.ring.claim(this.ring.slotAt(sequence), QUEUED, CANCELLED)) continue;
      call.settled = true;
      this.host.deadlines.finish(call);
      call.reject(this.host.notMadeError(why));
    }
  }

  /** Takes no more calls; the thread ends once those in its ring are done. */
  retire(): void {
    if (this.retired_) return;
    this.retired_ = true;
    // held before the thread is told: one that ends at once must not leave its exit unheard
    this.holdProcess();
    Atomics.store(this.ring.cells, STOP, 1);
    this.ring.ring();
  }

  /**
   * The thread keeps the process alive while it has calls to answer or is ending (its end is
   * awaited), not while it idles or is stuck in a call past its deadline. A worker whose thread
   * ended while unreferenced may never deliver its exit to a process that has nothing else to do.
   */
  private holdProcess(): void {
    if (this.exited) return;
    if (!this.stuck_ && (this.retired_ || this.outstanding > 0)) this.worker.ref();
    else this.worker.unref();
  }

  /** Resolves once no call is queued or running, or once the thread is stuck in one. */
  whenIdle(): Promise<void> {
    if (this.outstanding === 0 || this.stuck_) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private idle(): void {
    lanesWithCallsOut.delete(this);
    this.holdProcess();
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /**
   * The thread ended (retired, or it failed) and takes no more calls. Of its unanswered calls,
   * those it never started are handed back (the host's not-made error, retried elsewhere); one it
   * was making fails with its thread-failed error, since whether the device signed is unknown.
   */
  private threadEnded(): void {
    this.exited = true;
    this.retired_ = true;
    this.host.threadEnded?.();
    this.answerCompleted();
    const why = this.failure === undefined ? '' : `: ${String(this.failure)}`;
    for (; this.seen !== this.submitted; this.seen = next(this.seen)) {
      const call = this.calls[this.seen & (RING_SLOTS - 1)] as LaneCall;
      this.calls[this.seen & (RING_SLOTS - 1)] = undefined;
      call.watcher.returned();
      if (call.settled) continue;
      call.settled = true;
      this.host.deadlines.finish(call);
      const neverMade = this.ring.claim(this.ring.slotAt(this.seen), QUEUED, CANCELLED);
      call.reject(
        neverMade
          ? this.host.notMadeError('its signing thread ended')
          : this.host.threadFailedError(`the signing thread ended in a call${why}`),
      );
    }
    this.idle();
    this.markEnded();
  }

  /** Retires the lane and waits for its thread to end (not for a thread stuck in a call). */
  async stop(): Promise<void> {
    this.retire();
    if (this.stuck_ || this.exited) return;
    await this.ended;
  }
}
