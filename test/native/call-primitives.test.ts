import { callForeign } from '../../src/native/async-call';
import { CallDeadlines, TrackedCall } from '../../src/native/call-deadlines';
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

class Call extends TrackedCall {
  constructor(
    private readonly name: string,
    private readonly expired: string[],
  ) {
    super();
  }

  expire(): void {
    this.expired.push(this.name);
  }
}

describe('CallDeadlines', () => {
  it('expires the calls that outlive their timeout, once each, and none that finished in time', async () => {
    const deadlines = new CallDeadlines(40);
    const expired: string[] = [];
    const [slow, fast, middle] = ['slow', 'fast', 'middle'].map((name) => new Call(name, expired));
    deadlines.start(slow);
    deadlines.start(fast);
    deadlines.start(middle);
    expect(deadlines.finish(fast)).toBe(true);
    await sleep(150);
    expect(expired).toEqual(['slow', 'middle']);
    expect(deadlines.finish(slow)).toBe(false);
    expect(deadlines.finish(middle)).toBe(false);
  });

  it('is off at 0 and refuses a timeout that is not a whole number of milliseconds', async () => {
    const off = new CallDeadlines(0);
    const expired: string[] = [];
    const call = new Call('never', expired);
    off.start(call);
    await sleep(20);
    expect(off.finish(call)).toBe(true);
    expect(expired).toEqual([]);
    expect(() => new CallDeadlines(-1)).toThrow(RangeError);
    expect(() => new CallDeadlines(1.5)).toThrow(RangeError);
  });
});

describe('callForeign', () => {
  const tell = (told: string[]) => ({ expired: () => told.push('expired'), returned: () => told.push('returned') });

  it('settles a call whose arguments the FFI refuses, and tells its watcher it is over', async () => {
    const told: string[] = [];
    const refused = new TypeError('koffi refuses an argument');
    const spec = {
      fn: {
        async() {
          throw refused;
        },
      },
      deadlines: new CallDeadlines(50),
      timeoutError: () => new Error('timed out'),
      check: () => undefined,
    };
    await expect(callForeign({ specFor: () => spec }, 'C_Sign', [1], tell(told))).rejects.toBe(refused);
    await sleep(120); // past the deadline: a call left on the deadline list would expire now
    expect(told).toEqual(['returned']);
  });

  it('rejects a call of a function the library lacks, and tells its watcher it is over', async () => {
    const told: string[] = [];
    const lacking = new Error('no C_FindObjectsFinal in the function list');
    const library = {
      specFor(): never {
        throw lacking;
      },
    };
    await expect(callForeign(library, 'C_FindObjectsFinal', [], tell(told))).rejects.toBe(lacking);
    expect(told).toEqual(['returned']);
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
