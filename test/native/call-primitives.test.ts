import { CallDeadlines } from '../../src/native/call-deadlines';
import { capacityOf, GUARD_BYTES, guardedBuffer, guardIntact } from '../../src/native/guard-bytes';
import { SerialQueue } from '../../src/native/serial-queue';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SerialQueue', () => {
  it('never runs two tasks at once, keeps their order, and goes on after a failure', async () => {
    const queue = new SerialQueue();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      running++;
      most = Math.max(most, running);
      await sleep(i % 3);
      order.push(i);
      running--;
      if (i === 3) throw new Error('task 3 fails');
      return i;
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => queue.run(task(i))));
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results[3]).toMatchObject({ status: 'rejected' });
    expect(results[7]).toEqual({ status: 'fulfilled', value: 7 });
    expect(queue.length).toBe(0);
  });
});

describe('CallDeadlines', () => {
  it('expires a call that outlives its timeout, once, and not one that finished in time', async () => {
    const deadlines = new CallDeadlines(40);
    const expired: string[] = [];
    const slow = deadlines.start(() => expired.push('slow'));
    const fast = deadlines.start(() => expired.push('fast'));
    expect(deadlines.finish(fast)).toBe(true);
    await sleep(120);
    expect(expired).toEqual(['slow']);
    expect(deadlines.finish(slow)).toBe(false);
  });

  it('is off at 0 and refuses a timeout that is not a whole number of milliseconds', () => {
    const off = new CallDeadlines(0);
    expect(off.start(() => undefined)).toBeUndefined();
    expect(off.finish(undefined)).toBe(true);
    expect(() => new CallDeadlines(-1)).toThrow(RangeError);
    expect(() => new CallDeadlines(1.5)).toThrow(RangeError);
  });
});

describe('guarded buffers', () => {
  it('end in guard bytes that notice a write past the capacity', () => {
    const buffer = guardedBuffer(128);
    expect(buffer.length).toBe(128 + GUARD_BYTES);
    expect(capacityOf(buffer)).toBe(128);
    expect(buffer.subarray(0, 128).every((b) => b === 0)).toBe(true);
    buffer.fill(0xff, 0, 128);
    expect(guardIntact(buffer)).toBe(true);
    buffer[128] = 0;
    expect(guardIntact(buffer)).toBe(false);
  });

  it('give a secret its own memory, not a slice of the shared pool', () => {
    const secret = guardedBuffer(68, true);
    expect(secret.byteOffset).toBe(0);
    expect(secret.buffer.byteLength).toBe(68 + GUARD_BYTES);
  });
});
