import { SignLane } from '../native/sign-lane';
import { SdfBindingError, SdfDevice, type SdfLibraryOptions, type SdfSession } from '../sdf';
import { SdfSignLaneHost } from '../sdf/sign-lane-host';
import { isBrokenSession, isSessionFailure } from './recovery';
import type { LaneSource } from './sign-lanes';

/**
 * Opens sessions that can sign with one internal key: session plus access right, and a check
 * that the key at the index is still the one the signer started with (every new session reads
 * it, so every reopening of the device is covered). When opening a session fails because the
 * device or the link went away, the device is opened again (once for every caller).
 */
export class SigningSessions implements LaneSource<SdfSession> {
  readonly #password: string;
  #publicKey: Uint8Array | undefined;
  #keyChanged: SdfBindingError | undefined;
  #closed = false;

  private constructor(
    readonly device: SdfDevice,
    readonly keyIndex: number,
    password: string,
  ) {
    this.#password = password;
  }

  static async open(
    libPath: string,
    libraryOptions: SdfLibraryOptions,
    keyIndex: number,
    password: string,
  ): Promise<SigningSessions> {
    return new SigningSessions(await SdfDevice.open(libPath, libraryOptions), keyIndex, password);
  }

  /** The key the first session read; every later session must read the same. */
  get publicKey(): Uint8Array | undefined {
    return this.#publicKey;
  }

  /** Set once the device answered with another key: every operation fails with it from then on. */
  get keyChanged(): SdfBindingError | undefined {
    return this.#keyChanged;
  }

  async create(): Promise<SdfSession> {
    const generation = this.device.generation;
    let session: SdfSession;
    try {
      session = await this.device.openSession();
    } catch (error) {
      if (this.#closed || !isSessionFailure(error)) throw error;
      await this.device.reopen(generation);
      session = await this.device.openSession();
    }
    try {
      // As FISCO does: an empty password means the key needs no access-right call.
      if (this.#password !== '') await session.getPrivateKeyAccessRight(this.keyIndex, this.#password);
      this.checkKey(await session.exportSignPublicKey(this.keyIndex));
    } catch (error) {
      await this.dispose(session);
      throw error;
    }
    return session;
  }

  /**
   * Compares a key the device reported with the signer's; a different one fails this and every
   * later operation with SDF_KEY_CHANGED (the card was re-provisioned, or failed over to a card
   * with other keys: its signatures would not verify under the signer's public key).
   */
  checkKey(reported: Uint8Array): void {
    if (this.#keyChanged) throw this.#keyChanged;
    if (this.#publicKey === undefined) {
      this.#publicKey = reported;
      return;
    }
    if (Buffer.compare(reported, this.#publicKey) === 0) return;
    this.#keyChanged = new SdfBindingError(
      'SDF_KEY_CHANGED',
      `the key at index ${this.keyIndex} is no longer the one this signer started with ` +
        `(public key ${hexStart(this.#publicKey)}…, the device now reports ${hexStart(reported)}…): ` +
        'create the signer again to sign with the new key',
      { fn: 'SDF_ExportSignPublicKey_ECC', libPath: this.device.libPath },
    );
    throw this.#keyChanged;
  }

  /**
   * Reads the key at the index again through a session of its own (the signer's are busy):
   * SDF_KEY_CHANGED when it is no longer the signer's.
   */
  async readKey(): Promise<Uint8Array> {
    await this.dispose(await this.create());
    return this.#publicKey as Uint8Array;
  }

  /** Closes a session; one stuck in a call past its deadline is closed when that call returns. */
  dispose(session: SdfSession): Promise<void> {
    return this.device.retire(session);
  }

  closed(session: SdfSession): boolean {
    return session.closed;
  }

  startThread(session: SdfSession): Promise<SignLane> {
    return SignLane.start(new SdfSignLaneHost(session.library));
  }

  signOn(thread: SignLane, session: SdfSession, digest: Uint8Array): Promise<Uint8Array> {
    return thread.sign(session, BigInt(this.keyIndex), digest);
  }

  isBroken(error: unknown, session: SdfSession): boolean {
    return isBrokenSession(error, session);
  }

  async checkIdle(session: SdfSession): Promise<void> {
    this.checkKey(await session.exportSignPublicKey(this.keyIndex));
  }

  /** Closes every session and the device; no reopening after this. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.device.close();
  }
}

function hexStart(key: Uint8Array): string {
  return Buffer.from(key.subarray(0, 8)).toString('hex');
}
