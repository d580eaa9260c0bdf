/**
 * One call into a foreign library on the libuv thread pool, with a deadline, optionally waiting
 * its turn in a queue. Shared by the SDF and PKCS#11 bindings.
 */
import type { CallDeadlines } from './call-deadlines';
import type { SerialQueue } from './serial-queue';

/** A function declared through koffi, callable on the thread pool. */
export interface AsyncForeignFunction {
  async(...args: unknown[]): void;
}

/** Told about one call's course (a session, which must know when its calls are done). */
export interface CallWatcher {
  /** The call's deadline passed; it is still running. */
  expired(): void;
  /** The native call came back, in time or not (or never started, having expired in the queue). */
  returned(): void;
}

/** How the calls of one function are made: built once per function, not per call. */
export interface ForeignCallSpec {
  fn: AsyncForeignFunction;
  deadlines: CallDeadlines;
  /** The error the caller gets past the deadline. */
  timeoutError: () => Error;
  /** The error a return value means, or undefined for success. */
  check: (value: unknown) => Error | undefined;
  /** Wait for this queue (serialised calls); the deadline counts from the request, queue included. */
  queue?: SerialQueue;
}

/**
 * Past the deadline the promise rejects while the native call goes on (it cannot be stopped); a
 * call still queued then never starts.
 */
export function callForeign(spec: ForeignCallSpec, args: unknown[], watcher?: CallWatcher): Promise<void> {
  return new Promise((resolve, reject) => {
    let late = false;
    const tracked = spec.deadlines.start(() => {
      late = true;
      watcher?.expired();
      reject(spec.timeoutError());
    });
    const invoke = (done?: () => void) => {
      if (late) {
        // waited its turn past the deadline: the caller has given up, so it never runs
        watcher?.returned();
        done?.();
        return;
      }
      spec.fn.async(...args, (err: unknown, value: unknown) => {
        const inTime = spec.deadlines.finish(tracked);
        watcher?.returned();
        done?.();
        if (!inTime) return;
        const error = err ? (err as Error) : spec.check(value);
        if (error) reject(error);
        else resolve();
      });
    };
    if (spec.queue) void spec.queue.run(() => new Promise<void>((done) => invoke(done)));
    else invoke();
  });
}
