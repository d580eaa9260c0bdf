import type { CallWatcher } from '../native/async-call';
import { SessionCalls } from '../native/session-calls';
import { capacityOf, guardedBuffer, guardIntact } from '../native/guard-bytes';
import {
  readUlong,
  readUlongArray,
  reportedLength,
  ulongArray,
  ulongValue,
  writeUlong,
  type TemplateEntry,
} from './attributes';
import { CKR, CKU_USER } from './constants';
import { Pkcs11BindingError, Pkcs11Error } from './errors';
import { mechanismStruct, type Pkcs11FunctionName, type Pkcs11Functions } from './functions';

/** What a session tells the module that opened it. */
export interface Pkcs11SessionOwner {
  sessionEnded(session: Pkcs11Session): void;
}

/** Most objects read per C_FindObjects call. */
const FIND_BATCH = 16;
/** Room for a signature in the first C_Sign call (on a signing thread: all it has); larger ones take the size query. */
export const SIGNATURE_ROOM = 512;
/**
 * Largest signature an operation is finished for once the module said the room is too small;
 * past it the operation stays active, and the session is replaced at its next C_SignInit
 * (CKR_OPERATION_ACTIVE).
 */
export const LARGEST_SIGNATURE = 1 << 16;

/**
 * One PKCS#11 session. Used by one operation at a time (the caller, e.g. a pool, serialises its
 * use), as PKCS#11 allows one active operation per session. A call past its deadline retires it.
 */
export class Pkcs11Session {
  #handle: number | null;
  readonly #calls = new SessionCalls();
  #closing: Promise<void> | null = null;
  /** Where C_Sign writes, kept from one signature to the next (one operation at a time). */
  #signatureRoom: Buffer | null = null;
  /** C_Sign's CK_ULONG length, in and out, as bytes (cheaper to pass than a JS array). */
  readonly #signatureLength = ulongValue(0);

  /** @internal sessions are opened by Pkcs11Module.openSession */
  constructor(
    private readonly functions: Pkcs11Functions,
    handle: number,
    readonly slot: number,
    private readonly owner: Pkcs11SessionOwner,
  ) {
    this.#handle = handle;
  }

  /** No further calls: closed, closing, or retired after a call timed out. */
  get closed(): boolean {
    return this.#calls.retired;
  }

  /** A call on it passed its deadline and has not returned; it is closed once that call returns. */
  get stuckInCall(): boolean {
    return this.#calls.stuck;
  }

  get callsInFlight(): number {
    return this.#calls.inFlight;
  }

  /** The open handle, or an error naming `fn`. */
  private live(fn: Pkcs11FunctionName): number {
    const refusal = this.#calls.refusal() ?? (this.#handle === null ? 'a closed session' : undefined);
    if (refusal !== undefined)
      throw new Pkcs11BindingError('PKCS11_HANDLE_CLOSED', `${fn} called on ${refusal}`, { fn });
    return this.#handle as number;
  }

  private call(fn: Pkcs11FunctionName, args: unknown[]): Promise<void> {
    const handle = this.live(fn);
    return this.functions.call(fn, [handle, ...args], this.#calls.begin());
  }

  /** Logs the user in; CKR_USER_ALREADY_LOGGED_IN (another session did) counts as success. */
  async login(pin: string): Promise<void> {
    const secret = Buffer.from(pin, 'utf8');
    try {
      await this.call('C_Login', [CKU_USER, secret, secret.length]);
    } catch (error) {
      if (!(error instanceof Pkcs11Error && error.code === CKR.CKR_USER_ALREADY_LOGGED_IN)) throw error;
    } finally {
      // A C_Login past its deadline may still be reading the PIN: zeroed under it, the module would
      // see a wrong PIN and count a failed login against the token.
      void this.whenIdle().then(() => secret.fill(0));
    }
  }

  /** Handles of the objects matching `template`; the search is always finalised. */
  async findObjects(template: TemplateEntry[]): Promise<number[]> {
    await this.call('C_FindObjectsInit', [template, template.length]);
    const found: number[] = [];
    try {
      for (;;) {
        const batch = ulongArray(FIND_BATCH);
        const count = [0];
        await this.call('C_FindObjects', [batch, FIND_BATCH, count]);
        if (count[0] > FIND_BATCH) {
          throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', `C_FindObjects returned ${count[0]} of ${FIND_BATCH}`, {
            fn: 'C_FindObjects',
          });
        }
        found.push(...readUlongArray(batch, count[0], 'C_FindObjects'));
        if (count[0] < FIND_BATCH) return found;
      }
    } finally {
      try {
        await this.call('C_FindObjectsFinal', []);
      } catch {
        // the search is over either way; the error that ended it (if any) is the one to report
      }
    }
  }

  /**
   * Attribute values of an object; undefined for one it does not have or will not show. Sizes
   * are asked for first (PKCS#11's two-call protocol), then the values.
   */
  async getAttributes(object: number, types: readonly number[]): Promise<(Buffer | undefined)[]> {
    const query: TemplateEntry[] = types.map((type) => ({ type, pValue: null, ulValueLen: 0 }));
    await this.call('C_GetAttributeValue', [object, query, query.length]).catch(tolerateMissingAttributes);
    const lengths = query.map((entry) => reportedLength(entry.ulValueLen));
    const buffers = lengths.map((length) => (length === undefined ? undefined : guardedBuffer(length)));
    const values: TemplateEntry[] = [];
    types.forEach((type, i) => {
      const buffer = buffers[i];
      if (buffer) values.push({ type, pValue: buffer, ulValueLen: capacityOf(buffer) });
    });
    if (values.length > 0) {
      await this.call('C_GetAttributeValue', [object, values, values.length]).catch(tolerateMissingAttributes);
    }
    let next = 0;
    return buffers.map((buffer) => {
      if (!buffer) return undefined;
      const entry = values[next++];
      const length = reportedLength(entry.ulValueLen);
      if (!guardIntact(buffer) || (length !== undefined && length > capacityOf(buffer))) {
        throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', 'C_GetAttributeValue wrote past the room it was given', {
          fn: 'C_GetAttributeValue',
        });
      }
      return length === undefined ? undefined : Buffer.from(buffer.subarray(0, length));
    });
  }

  /** One signature: C_SignInit and C_Sign (asking for the size first only when it is large). */
  async sign(mechanism: number, key: number, data: Uint8Array): Promise<Uint8Array> {
    await this.call('C_SignInit', [mechanismStruct(mechanism), key]);
    let out = this.signatureRoom();
    const length = this.#signatureLength;
    writeUlong(length, SIGNATURE_ROOM);
    try {
      await this.call('C_Sign', [data, data.length, out, length]);
    } catch (error) {
      if (!(error instanceof Pkcs11Error && error.code === CKR.CKR_BUFFER_TOO_SMALL)) throw error;
      // the operation stays active after CKR_BUFFER_TOO_SMALL; length holds the size needed
      if (readUlong(length) > LARGEST_SIGNATURE) throw error;
      out = guardedBuffer(readUlong(length));
      writeUlong(length, capacityOf(out));
      await this.call('C_Sign', [data, data.length, out, length]);
    }
    return this.signatureIn(out, readUlong(length));
  }

  /**
   * sign() on the calling thread, for benchmarks: no thread-pool hop and no deadline, the event
   * loop waits for the module. The signature must fit in 512 bytes.
   */
  signSync(mechanism: number, key: number, data: Uint8Array): Uint8Array {
    const handle = this.live('C_SignInit');
    this.functions.callSync('C_SignInit', [handle, mechanismStruct(mechanism), key]);
    const out = this.signatureRoom();
    const length = this.#signatureLength;
    writeUlong(length, SIGNATURE_ROOM);
    this.functions.callSync('C_Sign', [handle, data, data.length, out, length]);
    return this.signatureIn(out, readUlong(length));
  }

  private signatureRoom(): Buffer {
    this.#signatureRoom ??= guardedBuffer(SIGNATURE_ROOM);
    return this.#signatureRoom;
  }

  /** The `length` bytes C_Sign wrote, once it is clear it wrote no more than it had room for. */
  private signatureIn(out: Buffer, length: number): Uint8Array {
    if (!guardIntact(out) || length > capacityOf(out)) {
      if (out === this.#signatureRoom) this.#signatureRoom = null;
      throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', 'C_Sign wrote past the room it was given', { fn: 'C_Sign' });
    }
    return new Uint8Array(out.subarray(0, length)); // a copy: the room is written again by the next signature
  }

  /** @internal The handle, for a signature on a signing thread (LaneSession); refused like a call. */
  threadCallHandle(): bigint {
    return BigInt(this.live('C_SignInit'));
  }

  /** @internal A call on a signing thread starts: the session counts it until its watcher hears it returned. */
  threadCallStarts(): CallWatcher {
    return this.#calls.begin();
  }

  whenIdle(): Promise<void> {
    return this.#calls.whenIdle();
  }

  /** Resolves once one of its calls is past its deadline and not back (at once if one is now). */
  whenStuck(): Promise<void> {
    return this.#calls.whenStuck();
  }

  /** Closes the session once its calls in flight have returned; closing twice shares one close. */
  close(): Promise<void> {
    this.#closing ??= this.closeOnce();
    return this.#closing;
  }

  private async closeOnce(): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return;
    this.#calls.retire();
    await this.whenIdle();
    // Finalising the module meanwhile closed it, and its handle may now name another session.
    if (this.#handle === null) return;
    this.#handle = null;
    try {
      await this.functions.call('C_CloseSession', [handle], this.#calls.begin());
    } finally {
      // Counted among the module's sessions until C_CloseSession returns, past its deadline too:
      // C_Finalize waits for it.
      void this.whenIdle().then(() => this.owner.sessionEnded(this));
    }
  }

  /**
   * @internal The module is about to be finalised, which closes every session with it: no call
   * starts from now on, and none closes it.
   */
  endWithModule(): void {
    this.#calls.retire();
    this.#handle = null;
    this.owner.sessionEnded(this);
  }
}

/**
 * CKR_ATTRIBUTE_TYPE_INVALID and CKR_ATTRIBUTE_SENSITIVE still fill in every other attribute
 * (and mark the missing ones unavailable): not an error for a read of several attributes.
 */
function tolerateMissingAttributes(error: unknown): void {
  if (error instanceof Pkcs11Error) {
    if (error.code === CKR.CKR_ATTRIBUTE_TYPE_INVALID || error.code === CKR.CKR_ATTRIBUTE_SENSITIVE) return;
  }
  throw error;
}
