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

export interface AsyncCall {
  deadlines: CallDeadlines;
  /** The error the caller gets past the deadline. */
  timeoutError: () => Error;
  /** The error a return value means, or undefined for success. */
  check: (value: unknown) => Error | undefined;
  watcher?: CallWatcher;
  /** Wait for this queue (serialised calls); the deadline counts from the request, queue included. */
  queue?: SerialQueue;
}

/**
 * Past the deadline the promise rejects while the native call goes on (it cannot be stopped); a
 * call still queued then never starts.
 */
export function callForeign(fn: AsyncForeignFunction, args: unknown[], call: AsyncCall): Promise<void> {
  const { deadlines, watcher } = call;
  return new Promise((resolve, reject) => {
    let late = false;
    const tracked = deadlines.start(() => {
      late = true;
      watcher?.expired();
      reject(call.timeoutError());
    });
    const invoke = () =>
      new Promise<void>((done) => {
        if (late) {
          watcher?.returned();
          done();
          return;
        }
        fn.async(...args, (err: unknown, value: unknown) => {
          const inTime = deadlines.finish(tracked);
          watcher?.returned();
          done();
          if (!inTime) return;
          const error = err ? (err as Error) : call.check(value);
          if (error) reject(error);
          else resolve();
        });
      });
    if (call.queue) void call.queue.run(invoke);
    else void invoke();
  });
}
