import { ResourcePool, type PoolHooks } from '../../src/signer/resource-pool';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function hooks<T>(overrides: Partial<PoolHooks<T>> & { disposed?: T[] } = {}): PoolHooks<T> {
  return {
    create: overrides.create ?? (() => Promise.reject(new Error('no create'))),
    dispose: overrides.dispose ?? (async (r) => void overrides.disposed?.push(r)),
    closedError: () => new Error('pool closed'),
  };
}

class Broken extends Error {}
const isBroken = (error: unknown) => error instanceof Broken;

describe('ResourcePool', () => {
  it('lends each resource to one task at a time and queues the rest in order', async () => {
    const disposed: string[] = [];
    const pool = new ResourcePool(['a', 'b'], hooks({ disposed }));
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
    const pool = new ResourcePool([1], hooks());
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

  it('gives the resource back when a task fails for its own reasons', async () => {
    const pool = new ResourcePool(['only'], hooks());
    await expect(pool.use(async () => Promise.reject(new Error('boom')), isBroken)).rejects.toThrow('boom');
    await expect(pool.use(async (r) => r)).resolves.toBe('only');
  });

  it('disposes of a broken resource and creates a replacement when one is next needed', async () => {
    const disposed: string[] = [];
    let made = 0;
    const pool = new ResourcePool(['s0'], hooks({ disposed, create: async () => `s${++made}` }));
    await expect(pool.use(async () => Promise.reject(new Broken('link down')), isBroken)).rejects.toThrow('link down');
    expect(pool.size).toBe(1);
    await expect(pool.use(async (r) => r)).resolves.toBe('s1');
    expect(disposed).toEqual(['s0']);
    await pool.close();
    expect(disposed).toEqual(['s0', 's1']);
  });

  it('hands a waiting task a fresh resource when the one it waited for breaks', async () => {
    let made = 0;
    const pool = new ResourcePool(['s0'], hooks({ create: async () => `s${++made}` }));
    const gate = deferred();
    const failing = pool.use(() => gate.promise.then(() => Promise.reject(new Broken('gone'))), isBroken);
    const waiting = pool.use(async (r) => r);
    gate.resolve();
    await expect(failing).rejects.toThrow('gone');
    await expect(waiting).resolves.toBe('s1');
    await pool.close();
  });

  it('keeps the slot when a replacement cannot be made, and tries again on the next task', async () => {
    let attempts = 0;
    const create = async () => {
      attempts++;
      if (attempts === 1) throw new Error('device still down');
      return 'fresh';
    };
    const pool = new ResourcePool(['s0'], hooks({ create }));
    await expect(pool.use(async () => Promise.reject(new Broken('down')), isBroken)).rejects.toThrow('down');
    await expect(pool.use(async (r) => r)).rejects.toThrow('device still down');
    expect(pool.size).toBe(1);
    await expect(pool.use(async (r) => r)).resolves.toBe('fresh');
    await pool.close();
    expect(pool.inUse).toBe(0);
  });

  it('settles every queued task when no replacement can be made: none waits forever', async () => {
    const pool = new ResourcePool(['s0'], hooks({ create: () => Promise.reject(new Error('device down')) }));
    const gate = deferred();
    const failing = pool.use(() => gate.promise.then(() => Promise.reject(new Broken('gone'))), isBroken);
    const queued = [pool.use(async (r) => r), pool.use(async (r) => r), pool.use(async (r) => r)];
    gate.resolve();
    await expect(failing).rejects.toThrow('gone');
    for (const task of queued) await expect(task).rejects.toThrow('device down');
    expect(pool.inUse).toBe(0);
    await pool.close();
  });
});
