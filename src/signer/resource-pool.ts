/**
 * Lends each of a fixed set of resources to one task at a time, first come first served.
 * `close()` stops lending, waits for the tasks in flight, then disposes of every resource.
 */
export class ResourcePool<T> {
  private readonly idle: T[];
  private readonly waiting: Array<(resource: T) => void> = [];
  /** Tasks holding or waiting for a resource. */
  private busy = 0;
  private drained: (() => void) | null = null;
  private closing = false;

  constructor(
    resources: readonly T[],
    private readonly dispose: (resource: T) => Promise<void>,
    private readonly onClosed: () => Error,
  ) {
    if (resources.length === 0) throw new RangeError('a pool needs at least one resource');
    this.idle = [...resources];
  }

  get size(): number {
    return this.idle.length + this.inUse;
  }

  /** Resources lent out right now. */
  get inUse(): number {
    return this.busy - this.waiting.length;
  }

  async use<R>(task: (resource: T) => Promise<R>): Promise<R> {
    const resource = await this.acquire();
    try {
      return await task(resource);
    } finally {
      this.release(resource);
    }
  }

  private acquire(): Promise<T> {
    if (this.closing) return Promise.reject(this.onClosed());
    this.busy++;
    const resource = this.idle.pop();
    if (resource !== undefined) return Promise.resolve(resource);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(resource: T): void {
    this.busy--;
    const next = this.waiting.shift();
    if (next) next(resource);
    else this.idle.push(resource);
    if (this.busy === 0) this.drained?.();
  }

  /** Lets queued and running tasks finish, then disposes of all resources. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.busy > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const results = await Promise.allSettled(this.idle.splice(0).map((resource) => this.dispose(resource)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
