import { ResourcePool } from '../src/signer/resource-pool';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ResourcePool', () => {
  it('lends each resource to one task at a time and queues the rest in order', async () => {
    const disposed: string[] = [];
    const pool = new ResourcePool(
      ['a', 'b'],
      async (r) => void disposed.push(r),
      () => new Error('closed'),
    );
    const active = new Set<string>();
    const order: number[] = [];
    let overlap = false;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.use(async (resource) => {
          if (active.has(resource)) overlap = true;
          active.add(resource);
          order.push(i);
          await new Promise((r) => setTimeout(r, 2));
          active.delete(resource);
        }),
      ),
    );
    expect(overlap).toBe(false);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pool.inUse).toBe(0);
    await pool.close();
    expect(disposed.sort()).toEqual(['a', 'b']);
  });

  it('close() drains running and queued tasks, then refuses new ones', async () => {
    const pool = new ResourcePool(
      [1],
      async () => undefined,
      () => new Error('pool closed'),
    );
    const gate = deferred();
    const first = pool.use(() => gate.promise.then(() => 'first'));
    const queued = pool.use(async () => 'queued');
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false);
    gate.resolve();
    await expect(first).resolves.toBe('first');
    await expect(queued).resolves.toBe('queued');
    await closing;
    expect(closed).toBe(true);
    await expect(pool.use(async () => 'late')).rejects.toThrow('pool closed');
  });

  it('gives the resource back when a task fails', async () => {
    const pool = new ResourcePool(
      ['only'],
      async () => undefined,
      () => new Error('closed'),
    );
    await expect(pool.use(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use(async (r) => r)).resolves.toBe('only');
  });
});
