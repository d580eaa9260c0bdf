/**
 * The shared memory between the event loop and one signing thread (sign-lane.ts, sign-thread.ts):
 * a ring of slots, each holding one signature to make on the device (an SDF_InternalSign_ECC
 * call, or PKCS#11's C_SignInit and C_Sign), filled by the event loop and made in order by the
 * thread. Counters and slot states are Int32 cells read and written with Atomics. Call numbers
 * are 32-bit and wrap (next() below): a lane signs on past 2^31 calls.
 */
import { GUARD_BYTES } from './guard-bytes';

/** Most signing threads one signer may start (signThreads, hsm_sign_threads, pkcs11_sign_threads). */
export const MAX_SIGN_THREADS = 64;

/** Calls one thread may hold at once, queued and running (a power of two). */
export const RING_SLOTS = 64;

/** Header cells (Int32 indexes). */
export const SUBMITTED = 0; // number of the next call the event loop puts in the ring
export const COMPLETED = 1; // number of the next call the thread will finish or skip
export const SLEEPING = 2; // 1 while the thread may be waiting (the event loop then rings)
export const STOP = 3; // 1: finish the calls in the ring, then end
/**
 * Bumped by the event loop whenever it wants a sleeping thread to look again (a call, a stop).
 * The thread reads it before it checks for work and sleeps only while it is unchanged, so no
 * wake-up falls between its check and its sleep.
 */
export const DOORBELL = 4;
const HEADER_BYTES = 64;

/** The call number after `sequence`, wrapping at 2^31 as the Int32 cells do. */
export function next(sequence: number): number {
  return (sequence + 1) | 0;
}

/** Calls from `from` up to (not including) `to`, across a wrap. */
export function callsBetween(from: number, to: number): number {
  return (to - from) | 0;
}

/** Slot states. */
export const QUEUED = 1;
export const RUNNING = 2;
export const DONE = 3;
/** Given up by the event loop before the thread started it: the thread skips it. */
export const CANCELLED = 4;

/** Byte offsets inside a slot. */
const STATE = 0; // Int32
const THREW = 4; // Int32: 1 when the thread could not make the call at all (no code then)
const STEP = 8; // Int32: which of the thread's device calls returned the code (PKCS#11 makes two)
const DATA_LENGTH = 12; // Int32
const CODE = 16; // Float64: the SDR code or CK_RV returned (0: success)
const OUTPUT_LENGTH = 24; // Float64: the signature's length as the device reported it
const SESSION = 32; // BigInt64: the session's handle (SDF: the handle's address)
const KEY = 40; // BigInt64: the key (SDF: its index; PKCS#11: its object handle)
const DATA_AT = 48;
/** The widest input: a digest (SM2, ECDSA); whole messages are not signed on threads. */
export const DATA_BYTES = 64;
/**
 * Most room a call may give the device for its signature (SDF's ECCSignature in its widest
 * layout; the room a PKCS#11 signature has on the thread pool). Guard bytes follow the room a
 * call gives, as for calls on the thread pool.
 */
export const OUTPUT_ROOM = 512;
const OUTPUT_AT = DATA_AT + DATA_BYTES;
const OUTPUT_BYTES = OUTPUT_ROOM + GUARD_BYTES;
const SLOT_BYTES = 1024;

if (OUTPUT_AT + OUTPUT_BYTES > SLOT_BYTES) throw new Error('a sign ring slot is too small for its output');

/** Atomics.waitAsync (Node 16+), which the ES2022 library typings do not declare. */
export const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      cells: Int32Array,
      index: number,
      value: number,
    ): { async: false } | { async: true; value: Promise<unknown> };
  }
).waitAsync;

/** Views of one ring's memory, made once on each side. */
export class SignRing {
  readonly cells: Int32Array;
  readonly bytes: Uint8Array;
  private readonly words: BigInt64Array;
  private readonly numbers: Float64Array;

  constructor(readonly memory: SharedArrayBuffer = new SharedArrayBuffer(HEADER_BYTES + RING_SLOTS * SLOT_BYTES)) {
    this.cells = new Int32Array(memory);
    this.bytes = new Uint8Array(memory);
    this.words = new BigInt64Array(memory);
    this.numbers = new Float64Array(memory);
  }

  /** Byte offset of the slot of call number `sequence`. */
  slotAt(sequence: number): number {
    return HEADER_BYTES + (sequence & (RING_SLOTS - 1)) * SLOT_BYTES;
  }

  /** Asks a sleeping thread to look at the ring again. */
  ring(): void {
    Atomics.add(this.cells, DOORBELL, 1);
    Atomics.notify(this.cells, DOORBELL);
  }

  state(slot: number): number {
    return Atomics.load(this.cells, (slot + STATE) >> 2);
  }

  setState(slot: number, state: number): void {
    Atomics.store(this.cells, (slot + STATE) >> 2, state);
  }

  /** Moves a slot from one state to another unless the other side moved it first. */
  claim(slot: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.cells, (slot + STATE) >> 2, from, to) === from;
  }

  /** The call to make: on `session`, with `key`, over `data` (at most DATA_BYTES). */
  setCall(slot: number, session: bigint, key: bigint, data: Uint8Array): void {
    this.words[(slot + SESSION) >> 3] = session;
    this.words[(slot + KEY) >> 3] = key;
    this.cells[(slot + DATA_LENGTH) >> 2] = data.length;
    this.bytes.set(data, slot + DATA_AT);
  }

  session(slot: number): bigint {
    return this.words[(slot + SESSION) >> 3];
  }

  key(slot: number): bigint {
    return this.words[(slot + KEY) >> 3];
  }

  /** Copies the call's data into `to`; returns its length. */
  copyData(slot: number, to: Uint8Array): number {
    const length = this.cells[(slot + DATA_LENGTH) >> 2];
    to.set(this.bytes.subarray(slot + DATA_AT, slot + DATA_AT + length));
    return length;
  }

  /** What the call returned: its code, which step returned it, the output and its reported length. */
  setResult(slot: number, result: CallResult, output: Uint8Array): void {
    this.numbers[(slot + CODE) >> 3] = result.code;
    this.cells[(slot + STEP) >> 2] = result.step;
    this.numbers[(slot + OUTPUT_LENGTH) >> 3] = result.outputLength;
    this.cells[(slot + THREW) >> 2] = result.threw ? 1 : 0;
    this.bytes.set(output.subarray(0, OUTPUT_BYTES), slot + OUTPUT_AT);
  }

  code(slot: number): number {
    return this.numbers[(slot + CODE) >> 3];
  }

  step(slot: number): number {
    return this.cells[(slot + STEP) >> 2];
  }

  outputLength(slot: number): number {
    return this.numbers[(slot + OUTPUT_LENGTH) >> 3];
  }

  threw(slot: number): boolean {
    return this.cells[(slot + THREW) >> 2] === 1;
  }

  /** A copy of the output as the thread left it: `room` bytes and the guard bytes after them. */
  output(slot: number, room: number): Buffer {
    return Buffer.from(this.bytes.subarray(slot + OUTPUT_AT, slot + OUTPUT_AT + room + GUARD_BYTES));
  }
}

/** What one call on a signing thread returned. */
export interface CallResult {
  /** The SDR code or CK_RV (0: success). */
  code: number;
  /** Which of the thread's device calls returned it (0: the first). */
  step: number;
  /** The signature's length as the device reported it (PKCS#11); 0 where the layout is fixed (SDF). */
  outputLength: number;
  /** The thread could not make the call at all. */
  threw: boolean;
}

/** What every kind of signing thread is told, beside what its device call needs. */
export interface ThreadCallData {
  /** The file the event loop loaded: the dynamic loader hands the thread the same copy. */
  libPath: string;
  /** Bytes of output the device is given (at most OUTPUT_ROOM); guard bytes follow them. */
  room: number;
}

/**
 * Makes one signature on a signing thread, synchronously: with `key` on `session`, over `data`,
 * into `out` (the room, then guard bytes), filling in `result`.
 */
export type SignThreadCall = (session: bigint, key: bigint, data: Buffer, out: Buffer, result: CallResult) => void;
