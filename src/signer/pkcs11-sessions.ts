import { SignLane } from '../native/sign-lane';
import { CKR, Pkcs11BindingError, Pkcs11Error, Pkcs11Module, type Pkcs11Session } from '../pkcs11';
import { findSigningKey, type FoundKey, type KeySelector } from '../pkcs11/keys';
import type { Sm2Profile } from '../pkcs11/profiles';
import { Pkcs11SignLaneHost } from '../pkcs11/sign-lane-host';
import type { LaneSource } from './sign-lanes';

/** A session logged in, with the handle of the signing key found in it. */
export interface KeySession {
  session: Pkcs11Session;
  key: number;
}

/** CK_RVs after which a session is dead: a new one (logged in, key found again) will do. */
const SESSION_FAILURES: ReadonlySet<number> = new Set([
  CKR.CKR_DEVICE_ERROR,
  CKR.CKR_DEVICE_REMOVED,
  CKR.CKR_SESSION_CLOSED,
  CKR.CKR_SESSION_HANDLE_INVALID,
  CKR.CKR_TOKEN_NOT_PRESENT,
  CKR.CKR_USER_NOT_LOGGED_IN,
  CKR.CKR_KEY_HANDLE_INVALID,
  CKR.CKR_OBJECT_HANDLE_INVALID,
  CKR.CKR_CRYPTOKI_NOT_INITIALIZED,
  // an operation the module left active (a C_Sign that failed to end it): the session cannot sign again
  CKR.CKR_OPERATION_ACTIVE,
]);

/** CK_RVs of C_OpenSession after which the module itself must be initialised again. */
const MODULE_FAILURES: ReadonlySet<number> = new Set([
  CKR.CKR_DEVICE_ERROR,
  CKR.CKR_DEVICE_REMOVED,
  CKR.CKR_TOKEN_NOT_PRESENT,
  CKR.CKR_SLOT_ID_INVALID,
  CKR.CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR.CKR_GENERAL_ERROR,
]);

export function isPkcs11SessionFailure(error: unknown): boolean {
  if (error instanceof Pkcs11Error) return SESSION_FAILURES.has(error.code);
  return error instanceof Pkcs11BindingError && error.code === 'PKCS11_HANDLE_CLOSED';
}

/** The session may not be lent again: it failed, or it is retired (a call past its deadline). */
export function isBrokenPkcs11Session(error: unknown, { session }: KeySession): boolean {
  return isPkcs11SessionFailure(error) || session.closed;
}

/**
 * Opens sessions that can sign with one key: session, login, key found by its selector (object
 * handles die with the session or a proxy), and the key checked against the first one found.
 * When even opening a session fails, the module is initialised again (after calls in flight
 * drain) and the token looked up by label again: a proxy's client module (p11-kit) answers
 * CKR_DEVICE_ERROR to everything once its server restarted, until C_Finalize + C_Initialize.
 */
export class Pkcs11Sessions {
  readonly #pin: string;
  #slot: number;
  #first: FoundKey | undefined;
  #closed = false;

  constructor(
    readonly module: Pkcs11Module,
    private readonly token: { tokenLabel?: string; slot?: number },
    slot: number,
    pin: string,
    private readonly selector: KeySelector,
    private readonly sm2: Sm2Profile | undefined,
  ) {
    this.#slot = slot;
    this.#pin = pin;
  }

  /** The key as the first session found it. */
  get key(): FoundKey | undefined {
    return this.#first;
  }

  async create(): Promise<KeySession> {
    const generation = this.module.generation;
    let session: Pkcs11Session;
    try {
      session = await this.module.openSession(this.#slot);
    } catch (error) {
      if (this.#closed || !(error instanceof Pkcs11Error && MODULE_FAILURES.has(error.code))) throw error;
      await this.module.reinitialize(generation);
      this.#slot = await this.module.findSlot(this.token);
      session = await this.module.openSession(this.#slot);
    }
    try {
      if (this.#pin !== '') await session.login(this.#pin);
      const found = await findSigningKey(session, this.selector, this.sm2);
      this.checkKey(found);
      return { session, key: found.handle };
    } catch (error) {
      await session.close().catch(() => undefined);
      throw error;
    }
  }

  private checkKey(found: FoundKey): void {
    if (this.#first === undefined) {
      this.#first = found;
      return;
    }
    if (found.algorithm === this.#first.algorithm && Buffer.compare(found.publicKey, this.#first.publicKey) === 0)
      return;
    throw new Pkcs11BindingError(
      'PKCS11_KEY_CHANGED',
      'the key found now is not the one this signer started with: create the signer again to sign with it',
      { libPath: this.module.path },
    );
  }

  async dispose({ session }: KeySession): Promise<void> {
    // A session stuck in a call is closed once the call returns, without holding up the pool.
    if (session.stuckInCall) void session.close().catch(() => undefined);
    else await session.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.module.close();
  }
}

/** Sessions of a Pkcs11Sessions for signing threads that sign with `mechanism` (pkcs11_sign_threads). */
export class Pkcs11LaneSource implements LaneSource<KeySession> {
  private readonly host: Pkcs11SignLaneHost;

  constructor(
    private readonly sessions: Pkcs11Sessions,
    mechanism: number,
  ) {
    this.host = new Pkcs11SignLaneHost(sessions.module.functions, mechanism);
  }

  create(): Promise<KeySession> {
    return this.sessions.create();
  }

  dispose(session: KeySession): Promise<void> {
    return this.sessions.dispose(session);
  }

  closed({ session }: KeySession): boolean {
    return session.closed;
  }

  startThread(): Promise<SignLane> {
    return SignLane.start(this.host);
  }

  signOn(thread: SignLane, { session, key }: KeySession, digest: Uint8Array): Promise<Uint8Array> {
    return thread.sign(session, BigInt(key), digest);
  }

  isBroken(error: unknown, session: KeySession): boolean {
    return isBrokenPkcs11Session(error, session);
  }
}
