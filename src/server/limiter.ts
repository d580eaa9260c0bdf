import { ApiError } from './errors';

/**
 * Bounded concurrency in front of the signer: at most `concurrency` tasks run, at most `maxQueue`
 * wait; beyond that a request is refused at once with 429 instead of piling up.
 */
export class Limiter {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
    /** What waits, for the 429's message: 'requests', 'verify requests' … */
    private readonly what = 'requests',
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be an integer ≥ 0');
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.queue.length >= this.maxQueue) {
        throw new ApiError(429, 'QUEUE_FULL', `too many ${this.what} waiting (queue limit ${this.maxQueue})`);
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next waiter, so `running` stays the same.
      if (next !== undefined) next();
      else this.running -= 1;
    }
  }
}
