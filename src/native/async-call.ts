/**
 * One call into a foreign library on the libuv thread pool, with a deadline, optionally waiting
 * its turn in a queue. Shared by the SDF and PKCS#11 bindings.
 */
import { TrackedCall, type CallDeadlines } from './call-deadlines';
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

/** One call in flight: its own entry in the deadline list, so that a call allocates little. */
class ForeignCall extends TrackedCall {
  late = false;

  constructor(
    private readonly spec: ForeignCallSpec,
    private readonly args: unknown[],
    private readonly watcher: CallWatcher | undefined,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super();
  }

  expire(): void {
    this.late = true;
    this.watcher?.expired();
    this.reject(this.spec.timeoutError());
  }

  invoke(done?: () => void): void {
    if (this.late) {
      // waited its turn past the deadline: the caller has given up, so it never runs
      this.watcher?.returned();
      done?.();
      return;
    }
    const returned = (err: unknown, value?: unknown) => {
      const inTime = this.spec.deadlines.finish(this);
      this.watcher?.returned();
      done?.();
      if (!inTime) return;
      const error = err ? (err as Error) : this.spec.check(value);
      if (error) this.reject(error);
      else this.resolve();
    };
    try {
      this.spec.fn.async(...this.args, returned);
    } catch (error) {
      returned(error); // koffi refused the arguments: the call never started
    }
  }
}

/** A library's functions, each with how it is called (made once per function). */
export interface ForeignCallSpecs<Name> {
  /** Throws for a function the library lacks. */
  specFor(name: Name): ForeignCallSpec;
}

/**
 * Calls `name` of `library`. Past the deadline the promise rejects while the native call goes on
 * (it cannot be stopped); a call still queued then never starts. A function the library lacks
 * rejects, and the watcher hears the call is over.
 */
export function callForeign<Name>(
  library: ForeignCallSpecs<Name>,
  name: Name,
  args: unknown[],
  watcher?: CallWatcher,
): Promise<void> {
  let spec: ForeignCallSpec;
  try {
    spec = library.specFor(name);
  } catch (error) {
    watcher?.returned();
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const call = new ForeignCall(spec, args, watcher, resolve, reject);
    spec.deadlines.start(call);
    if (spec.queue) void spec.queue.run(() => new Promise<void>((done) => call.invoke(done)));
    else call.invoke();
  });
}
