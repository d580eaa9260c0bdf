/**
 * Deadlines for calls into a foreign library. A native call cannot be cancelled: past its
 * deadline the caller is told it failed, while the call itself goes on until it returns.
 *
 * One timer sweeps every call in flight instead of a timer per call: a call is found late between
 * its deadline and a quarter of the timeout after it, at the cost of a Set insertion per call.
 */
export interface TrackedCall {
  /** When the caller gives up (Date.now() milliseconds). */
  readonly deadline: number;
  /** Called once, on the sweep that finds the call late. */
  expire(): void;
}

export class CallDeadlines {
  private readonly inFlight = new Set<TrackedCall>();
  private timer: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;

  /** @param timeoutMs how long a call may take; 0 turns deadlines off */
  constructor(readonly timeoutMs: number) {
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 2_147_483_647) {
      throw new RangeError(
        `a call timeout must be a whole number of milliseconds from 0 to 2147483647, got ${timeoutMs}`,
      );
    }
    this.sweepMs = Math.max(5, Math.ceil(timeoutMs / 4));
  }

  get enabled(): boolean {
    return this.timeoutMs > 0;
  }

  /** Watches a call that starts now; `expire` runs if it is still in flight past the deadline. */
  start(expire: () => void): TrackedCall | undefined {
    if (this.timeoutMs === 0) return undefined;
    const call = { deadline: Date.now() + this.timeoutMs, expire };
    this.inFlight.add(call);
    // unref'd: a deadline must not keep a process alive that has nothing else to do
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
    return call;
  }

  /** The call returned; true when it did so in time (it was still watched). */
  finish(call: TrackedCall | undefined): boolean {
    if (call === undefined) return true;
    return this.inFlight.delete(call);
  }

  private sweep(): void {
    const now = Date.now();
    for (const call of this.inFlight) {
      if (call.deadline > now) continue;
      this.inFlight.delete(call);
      call.expire();
    }
    if (this.inFlight.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
