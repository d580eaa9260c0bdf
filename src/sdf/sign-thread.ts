// Runs inside a signing thread of a SignLane: makes the SDF_InternalSign_ECC calls the event loop
// puts in the shared ring, synchronously and in order, on the sessions the event loop opened (a
// session crosses as its handle's address). The library is the one the event loop loaded: the
// dynamic loader hands this thread the same copy.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { GUARD_BYTES, guardedBuffer } from '../native/guard-bytes';
import {
  callsBetween,
  CANCELLED,
  COMPLETED,
  DIGEST_AT,
  DIGEST_BYTES,
  DONE,
  DOORBELL,
  next,
  OUTPUT_AT,
  OUTPUT_BYTES,
  QUEUED,
  RUNNING,
  SignRing,
  SLEEPING,
  STOP,
  SUBMITTED,
} from './sign-ring';

export interface SignThreadData {
  memory: SharedArrayBuffer;
  /** The file the event loop loaded. */
  libPath: string;
  symbol: string;
  /** SDF_InternalSign_ECC takes uiAlgID first (internalSignWithAlgId); its value. */
  algId: number | null;
}

const data = workerData as SignThreadData;
const ring = new SignRing(data.memory);
const cells = ring.cells;
const library = koffi.load(data.libPath);
const sign =
  data.algId === null
    ? library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'void *', 'uint32_t', 'void *'])
    : library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
const digest = Buffer.alloc(DIGEST_BYTES);
const out = guardedBuffer(OUTPUT_BYTES - GUARD_BYTES);
const guard = Buffer.from(out.subarray(OUTPUT_BYTES - GUARD_BYTES));
/**
 * The event loop is woken when the ring runs dry, else once every this many calls: on a fast card,
 * waking it for every call cost more than the call. (It also looks by itself every few
 * milliseconds, for answers finished before a call that takes long.)
 */
const WAKE_EVERY = 16;

function run(slot: number): void {
  digest.set(ring.bytes.subarray(slot + DIGEST_AT, slot + DIGEST_AT + DIGEST_BYTES));
  out.fill(0, 0, OUTPUT_BYTES - GUARD_BYTES);
  out.set(guard, OUTPUT_BYTES - GUARD_BYTES);
  const session = ring.session(slot);
  const keyIndex = ring.keyIndex(slot);
  let code = 0;
  let threw = false;
  try {
    code = (
      data.algId === null
        ? sign(session, keyIndex, digest, DIGEST_BYTES, out)
        : sign(session, data.algId, keyIndex, digest, DIGEST_BYTES, out)
    ) as number;
  } catch {
    threw = true;
  }
  ring.bytes.set(out, slot + OUTPUT_AT);
  ring.setCode(slot, code);
  ring.setThrew(slot, threw);
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
