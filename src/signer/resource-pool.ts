export interface PoolHooks<T> {
  /** Makes a resource to replace one that broke (for sessions: open one and get the access right). */
  create(): Promise<T>;
  dispose(resource: T): Promise<void>;
  /** The error a task gets once the pool is closing. */
  closedError(): Error;
}

interface Waiter<T> {
  resolve(resource: T): void;
  reject(error: unknown): void;
}

/**
 * Lends each of a fixed number of resources to one task at a time, first come first served.
 * A task whose error says its resource broke gets that resource disposed of; a new one is created
 * when it is next needed, so the pool keeps its size. `close()` stops lending, waits for the
 * tasks in flight, then disposes of every resource.
 */
export class ResourcePool<T> {
  private readonly idle: T[];
  private readonly waiting: Waiter<T>[] = [];
  /** Tasks holding or waiting for a resource. */
  private busy = 0;
  /** Slots whose resource broke and has not been replaced yet. */
  private missing = 0;
  private readonly disposals = new Set<Promise<void>>();
  private drained: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    resources: readonly T[],
    private readonly hooks: PoolHooks<T>,
  ) {
    if (resources.length === 0) throw new RangeError('a pool needs at least one resource');
    this.idle = [...resources];
  }

  get size(): number {
    return this.idle.length + this.inUse + this.missing;
  }

  /** Resources lent out right now. */
  get inUse(): number {
    return this.busy - this.waiting.length;
  }

  /**
   * Runs `task` with a resource of its own. When the task fails and `broken(error, resource)` says
   * the resource is at fault, the resource is disposed of instead of being lent again.
   */
  async use<R>(
    task: (resource: T) => Promise<R>,
    broken: (error: unknown, resource: T) => boolean = () => false,
  ): Promise<R> {
    const resource = await this.acquire();
    let isBroken = false;
    try {
      return await task(resource);
    } catch (error) {
      isBroken = broken(error, resource);
      throw error;
    } finally {
      this.release(resource, isBroken);
    }
  }

  private acquire(): Promise<T> {
    if (this.closing) return Promise.reject(this.hooks.closedError());
    this.busy++;
    const resource = this.idle.pop();
    if (resource !== undefined) return Promise.resolve(resource);
    if (this.missing > 0) return this.replace();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Creates a resource for a missing slot, for a task already counted as busy. */
  private async replace(): Promise<T> {
    this.missing--;
    try {
      return await this.hooks.create();
    } catch (error) {
      this.missing++;
      this.done();
      // No resource may ever be released again (all slots can be missing while the device is
      // down), so a queued task must get this slot now, or it would wait forever.
      const next = this.waiting.shift();
      if (next) this.replace().then(next.resolve, next.reject);
      throw error;
    }
  }

  private release(resource: T, broken: boolean): void {
    if (broken) {
      this.missing++;
      const disposal = this.hooks.dispose(resource).catch(() => undefined);
      this.disposals.add(disposal);
      void disposal.then(() => this.disposals.delete(disposal));
    }
    const next = this.waiting.shift();
    if (next && !broken) next.resolve(resource);
    else if (next) this.replace().then(next.resolve, next.reject);
    else if (!broken) this.idle.push(resource);
    this.done();
  }

  private done(): void {
    this.busy--;
    if (this.busy === 0) this.drained?.();
  }

  /** Lets queued and running tasks finish, then disposes of all resources; every caller waits for it. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    if (this.busy > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.disposals);
    const results = await Promise.allSettled(this.idle.splice(0).map((resource) => this.hooks.dispose(resource)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
