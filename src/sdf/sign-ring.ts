/**
 * The shared memory between the event loop and one signing thread (sign-lane.ts, sign-thread.ts):
 * a ring of slots, each holding one SDF_InternalSign_ECC call, filled by the event loop and run in
 * order by the thread. Counters and slot states are Int32 cells read and written with Atomics.
 * Call numbers are 32-bit and wrap (next() below): a lane signs on past 2^31 calls.
 */
import { GUARD_BYTES } from '../native/guard-bytes';
import { signatureStructSize } from './structs';

/** Most signing threads one signer may start (signThreads, hsm_sign_threads). */
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
const CODE = 4; // Int32: the SDR code the call returned
const KEY_INDEX = 8; // Uint32
const THREW = 12; // Int32: 1 when the thread could not make the call at all (no SDR code then)
const SESSION = 16; // BigInt64: the session handle's address
export const DIGEST_AT = 32;
export const DIGEST_BYTES = 32;
export const OUTPUT_AT = DIGEST_AT + DIGEST_BYTES;
/** The signature struct's widest layout, followed by guard bytes, as for calls on the thread pool. */
export const OUTPUT_BYTES = signatureStructSize(64) + GUARD_BYTES;
const SLOT_BYTES = 256;

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

  constructor(readonly memory: SharedArrayBuffer = new SharedArrayBuffer(HEADER_BYTES + RING_SLOTS * SLOT_BYTES)) {
    this.cells = new Int32Array(memory);
    this.bytes = new Uint8Array(memory);
    this.words = new BigInt64Array(memory);
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

  code(slot: number): number {
    return this.cells[(slot + CODE) >> 2];
  }

  setCode(slot: number, code: number): void {
    this.cells[(slot + CODE) >> 2] = code;
  }

  threw(slot: number): boolean {
    return this.cells[(slot + THREW) >> 2] === 1;
  }

  setThrew(slot: number, threw: boolean): void {
    this.cells[(slot + THREW) >> 2] = threw ? 1 : 0;
  }

  keyIndex(slot: number): number {
    return this.cells[(slot + KEY_INDEX) >> 2] >>> 0;
  }

  setKeyIndex(slot: number, keyIndex: number): void {
    this.cells[(slot + KEY_INDEX) >> 2] = keyIndex | 0;
  }

  session(slot: number): bigint {
    return this.words[(slot + SESSION) >> 3];
  }

  setSession(slot: number, address: bigint): void {
    this.words[(slot + SESSION) >> 3] = address;
  }
}
