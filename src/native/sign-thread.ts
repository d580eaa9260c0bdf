// Runs inside a signing thread of a SignLane: makes the signatures the event loop puts in the
// shared ring, synchronously and in order, on sessions the event loop opened. Which device call
// makes a signature (SDF or PKCS#11) comes with the thread's data.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { pkcs11ThreadCall, type Pkcs11ThreadCallData } from '../pkcs11/sign-thread-call';
import { sdfThreadCall, type SdfThreadCallData } from '../sdf/sign-thread-call';
import { guardedBuffer } from './guard-bytes';
import {
  callsBetween,
  CANCELLED,
  COMPLETED,
  DATA_BYTES,
  DONE,
  DOORBELL,
  next,
  OUTPUT_ROOM,
  QUEUED,
  RUNNING,
  SignRing,
  SLEEPING,
  STOP,
  SUBMITTED,
  type CallResult,
} from './sign-ring';

export interface SignThreadData {
  memory: SharedArrayBuffer;
  call: SdfThreadCallData | Pkcs11ThreadCallData;
}

const data = workerData as SignThreadData;
const ring = new SignRing(data.memory);
const cells = ring.cells;
if (!(data.call.room > 0 && data.call.room <= OUTPUT_ROOM)) throw new Error(`no room for ${data.call.room} bytes`);
const room = data.call.room;
const signOnDevice = data.call.kind === 'sdf' ? sdfThreadCall(data.call) : pkcs11ThreadCall(data.call);
const input = Buffer.alloc(DATA_BYTES);
const out = guardedBuffer(room);
const guard = Buffer.from(out.subarray(room));
const result: CallResult = { code: 0, step: 0, outputLength: 0, threw: false };
/**
 * The event loop is woken when the ring runs dry, else once every this many calls: on a fast card,
 * waking it for every call cost more than the call. (It also looks by itself every few
 * milliseconds, for answers finished before a call that takes long.)
 */
const WAKE_EVERY = 16;

function run(slot: number): void {
  const length = ring.copyData(slot, input);
  out.fill(0, 0, room);
  out.set(guard, room);
  result.code = result.step = result.outputLength = 0;
  result.threw = false;
  try {
    signOnDevice(ring.session(slot), ring.key(slot), input.subarray(0, length), out, result);
  } catch {
    result.threw = true;
  }
  ring.setResult(slot, result, out);
}

function serve(): void {
  let done = Atomics.load(cells, COMPLETED);
  let told = done;
  for (;;) {
    const submitted = Atomics.load(cells, SUBMITTED);
    if (done === submitted) {
      if (Atomics.load(cells, STOP) === 1) return;
      // Sleep unless work or a stop came in meanwhile: the doorbell is read first, so a ring
      // after the checks below ends the wait at once.
      const bell = Atomics.load(cells, DOORBELL);
      Atomics.store(cells, SLEEPING, 1);
      if (Atomics.load(cells, SUBMITTED) === submitted && Atomics.load(cells, STOP) === 0) {
        Atomics.wait(cells, DOORBELL, bell);
      }
      Atomics.store(cells, SLEEPING, 0);
      continue;
    }
    const slot = ring.slotAt(done);
    if (ring.claim(slot, QUEUED, RUNNING)) {
      run(slot);
      ring.setState(slot, DONE);
    } else if (ring.state(slot) !== CANCELLED) {
      throw new Error(`sign ring slot ${done} is in state ${ring.state(slot)}`);
    }
    done = next(done);
    Atomics.store(cells, COMPLETED, done);
    if (callsBetween(told, done) >= WAKE_EVERY || done === Atomics.load(cells, SUBMITTED)) {
      told = done;
      Atomics.notify(cells, COMPLETED);
    }
  }
}

/**
 * A signing thread that has work never sleeps, so where threads outnumber cores it would take
 * time slices from the event loop, which hands out the work and answers the callers. A lower
 * priority for this thread alone (Linux takes a thread id here) keeps the event loop's delay
 * low at no cost to throughput while a core is free. Where the id is not to be had, nothing changes.
 */
function yieldToEventLoop(): void {
  try {
    const threadId = koffi.load(null).func('int gettid(void)')() as number;
    setPriority(threadId, 5);
  } catch {
    // not Linux, or no gettid in this libc
  }
}

yieldToEventLoop();
parentPort?.postMessage('ready');
serve();
