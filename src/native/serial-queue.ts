/**
 * Runs asynchronous tasks one at a time, in the order they were queued. A foreign library that is
 * not thread-safe gets its calls through one of these, so two of them never overlap on the
 * thread pool.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** Tasks running or waiting. */
  get length(): number {
    return this.queued;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(task);
    // The next task waits for this one whatever its outcome; the chain itself never rejects.
    this.tail = result.then(
      () => this.queued--,
      () => this.queued--,
    );
    return result;
  }
}
