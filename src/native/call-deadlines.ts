/**
 * Deadlines for calls into a foreign library. A native call cannot be cancelled: past its
 * deadline the caller is told it failed, while the call itself goes on until it returns.
 *
 * Every call of one CallDeadlines has the same timeout, so calls in flight, kept in a list in the
 * order they started, are also in the order of their deadlines: one timer looks at the head of
 * the list only. A call is found late between its deadline and a quarter of the timeout after
 * it. Starting and finishing a call link and unlink it, allocating nothing: this runs on every
 * device call.
 */
/** How long one foreign call may take unless configured otherwise (SDF and PKCS#11 alike). */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export abstract class TrackedCall {
  /** When the caller gives up (Date.now() milliseconds); 0 while not watched. */
  deadline = 0;
  prev: TrackedCall | undefined = undefined;
  next: TrackedCall | undefined = undefined;
  /** Called once, by the sweep that finds the call late. */
  abstract expire(): void;
}

export class CallDeadlines {
  private head: TrackedCall | undefined;
  private tail: TrackedCall | undefined;
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

  /** Watches a call that starts now; its expire() runs if it is still in flight past the deadline. */
  start(call: TrackedCall): void {
    if (this.timeoutMs === 0) return;
    call.deadline = Date.now() + this.timeoutMs;
    call.prev = this.tail;
    if (this.tail) this.tail.next = call;
    else this.head = call;
    this.tail = call;
    // unref'd: a deadline must not keep a process alive that has nothing else to do
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /** The call returned; true when it did so in time (or deadlines are off). */
  finish(call: TrackedCall): boolean {
    if (this.timeoutMs === 0) return true;
    if (call.deadline === 0) return false; // already expired
    this.unlink(call);
    return true;
  }

  private unlink(call: TrackedCall): void {
    if (call.prev) call.prev.next = call.next;
    else this.head = call.next;
    if (call.next) call.next.prev = call.prev;
    else this.tail = call.prev;
    call.prev = call.next = undefined;
    call.deadline = 0;
  }

  private sweep(): void {
    const now = Date.now();
    while (this.head !== undefined && this.head.deadline <= now) {
      const late = this.head;
      this.unlink(late);
      late.expire();
    }
    if (this.head === undefined && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
