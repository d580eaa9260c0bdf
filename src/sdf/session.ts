import koffi from 'koffi';
import type { CallWatcher } from '../native/async-call';
import { capacityOf, guardedBuffer } from '../native/guard-bytes';
import { requireBytes, requireIndex } from './arguments';
import { SDR, SGD } from './codes';
import * as ecc from './session-ecc';
import * as symmetric from './session-symmetric';
import type { Sm4Options, SdfSessionKey } from './session-symmetric';
import type { Sm2Ciphertext } from './ecc-structs';
import { SdfBindingError, SdfError } from './errors';
import { SessionCalls } from '../native/session-calls';
import type { SdfFunctionName, SdfLibrary } from './library';
import {
  checkOutput,
  DEVICE_INFO_CAPACITY,
  DEVICE_INFO_SIZE,
  DeviceInfo,
  SM2_VALUE_BYTES,
  decodeDeviceInfo,
  decodePublicKey,
  decodeSignature,
  encodePublicKey,
  encodeSignature,
  publicKeyStructSize,
  signatureStructSize,
  structBuffer,
} from './structs';

type Handle = unknown;

/** Standard ID of SM2 signatures (GB/T 35276), used for the device-side Z value. */
const DEFAULT_USER_ID = Buffer.from('1234567812345678');

/** What a session tells the device that opened it. */
export interface SessionOwner {
  /** The session is closed, or was given up (`closed` false: its close failed). */
  sessionEnded(session: SdfSession, closed: boolean): void;
}

/**
 * One session on an SDF device. Each method is one or a few SDF calls run off the event loop.
 * A session is used by one operation at a time; the caller (e.g. a pool) serialises its use.
 *
 * A call past its deadline retires the session: it takes no further calls and is closed once the
 * call has returned. `close()` waits for calls in flight and gives back the access rights it
 * holds before closing.
 */
export class SdfSession {
  #handle: Handle | null;
  readonly #calls = new SessionCalls();
  #closing: Promise<void> | null = null;
  readonly #rights = new Set<number>();
  #randomChunk: number;
  #address: bigint | undefined;

  /** @internal sessions are opened by SdfDevice.openSession */
  constructor(
    /** @internal the library, for the functions in session-ecc.ts and session-symmetric.ts */
    readonly library: SdfLibrary,
    handle: Handle,
    private readonly owner: SessionOwner,
  ) {
    this.#handle = handle;
    this.#randomChunk = library.options.randomChunkBytes;
  }

  /** No further calls: closed, closing, or retired after a call timed out. */
  get closed(): boolean {
    return this.#calls.retired;
  }

  /** A call on it passed its deadline and has not returned; it is closed once that call returns. */
  get stuckInCall(): boolean {
    return this.#calls.stuck;
  }

  /** Device calls of this session that have not returned yet. */
  get callsInFlight(): number {
    return this.#calls.inFlight;
  }

  /**
   * @internal Calls `fn` with this session's handle first. A deadline passed retires the session.
   */
  call(fn: SdfFunctionName, args: unknown[]): Promise<void> {
    const handle = this.live(fn);
    return this.library.call(fn, [handle, ...args], this.#calls.begin());
  }

  /** @internal the open handle, or an error naming `fn` */
  live(fn: string): Handle {
    const refusal = this.#calls.refusal() ?? (this.#handle === null ? 'a closed session' : undefined);
    if (refusal !== undefined) throw new SdfBindingError('SDF_HANDLE_CLOSED', `${fn} called on ${refusal}`, { fn });
    return this.#handle;
  }

  /** @internal The handle's address, for a signature on a signing thread (LaneSession); refused like call(). */
  threadCallHandle(): bigint {
    const handle = this.live('SDF_InternalSign_ECC');
    this.#address ??= BigInt(koffi.address(handle));
    return this.#address;
  }

  /** @internal A call on a signing thread starts: the session counts it until its watcher hears it returned. */
  threadCallStarts(): CallWatcher {
    return this.#calls.begin();
  }

  /** @internal a synchronous call, for benchmarks (no deadline: the event loop waits). */
  callSync(fn: SdfFunctionName, args: unknown[]): void {
    this.library.callSync(fn, [this.live(fn), ...args]);
  }

  private get field() {
    return this.library.options.eccFieldBytes;
  }

  async getDeviceInfo(): Promise<DeviceInfo> {
    const out = structBuffer(DEVICE_INFO_CAPACITY);
    await this.call('SDF_GetDeviceInfo', [out]);
    checkOutput(out, capacityOf(out), 'SDF_GetDeviceInfo');
    return decodeDeviceInfo(out.subarray(0, DEVICE_INFO_SIZE));
  }

  /**
   * Random bytes from the device, asked for in pieces of `randomChunkBytes` (256 unless set):
   * some devices refuse more in one call whatever BufferSize they report. A piece refused with
   * SDR_INARGERR is asked for again in halves.
   */
  async generateRandom(length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
      throw new RangeError(`random length must be a non-negative integer, got ${length}`);
    }
    const out = guardedBuffer(length, true);
    for (let at = 0; at < length;) {
      const piece = out.subarray(at, Math.min(at + this.#randomChunk, length));
      try {
        await this.call('SDF_GenerateRandom', [piece.length, piece]);
      } catch (error) {
        const refused = error instanceof SdfError && error.code === SDR.SDR_INARGERR;
        if (!refused || piece.length === 1) throw error;
        this.#randomChunk = Math.ceil(piece.length / 2);
        continue;
      }
      at += piece.length;
    }
    checkOutput(out, length, 'SDF_GenerateRandom');
    return new Uint8Array(out.buffer, out.byteOffset, length);
  }

  /**
   * Unlocks the internal private key at `keyIndex` for this session. A string password is
   * encoded as UTF-8; the encoded copy is zeroed after the call (JS strings themselves cannot be).
   */
  async getPrivateKeyAccessRight(keyIndex: number, password: string | Uint8Array): Promise<void> {
    requireIndex(keyIndex);
    const secret = Buffer.from(typeof password === 'string' ? Buffer.from(password, 'utf8') : password);
    try {
      await this.call('SDF_GetPrivateKeyAccessRight', [keyIndex, secret, secret.length]);
      this.#rights.add(keyIndex);
    } finally {
      secret.fill(0);
    }
  }

  async releasePrivateKeyAccessRight(keyIndex: number): Promise<void> {
    requireIndex(keyIndex);
    await this.call('SDF_ReleasePrivateKeyAccessRight', [keyIndex]);
    this.#rights.delete(keyIndex);
  }

  /** The public key of the internal signing key at `keyIndex`, 64 bytes x||y. */
  exportSignPublicKey(keyIndex: number): Promise<Uint8Array> {
    return this.exportPublicKey('SDF_ExportSignPublicKey_ECC', keyIndex);
  }

  /** The public key of the internal encryption key at `keyIndex`, 64 bytes x||y. */
  exportEncPublicKey(keyIndex: number): Promise<Uint8Array> {
    return this.exportPublicKey('SDF_ExportEncPublicKey_ECC', keyIndex);
  }

  private async exportPublicKey(
    fn: 'SDF_ExportSignPublicKey_ECC' | 'SDF_ExportEncPublicKey_ECC',
    keyIndex: number,
  ): Promise<Uint8Array> {
    requireIndex(keyIndex);
    const out = structBuffer(publicKeyStructSize(this.field));
    await this.call(fn, [keyIndex, out]);
    return decodePublicKey(out, this.field, fn);
  }

  /** Signs the 32-byte digest e = SM3(Z||M) with the internal key; returns 64 bytes r||s. */
  async internalSign(keyIndex: number, digest: Uint8Array): Promise<Uint8Array> {
    const { args, out } = this.internalSignCall(keyIndex, digest);
    await this.call('SDF_InternalSign_ECC', args);
    return decodeSignature(out, this.field, 'SDF_InternalSign_ECC');
  }

  /**
   * internalSign on the calling thread: no thread-pool hop, but the event loop waits for the
   * device. For scripts and the benchmark's per-call overhead figure.
   */
  internalSignSync(keyIndex: number, digest: Uint8Array): Uint8Array {
    const { args, out } = this.internalSignCall(keyIndex, digest);
    this.callSync('SDF_InternalSign_ECC', args);
    return decodeSignature(out, this.field, 'SDF_InternalSign_ECC');
  }

  /** Arguments of SDF_InternalSign_ECC after the handle, with the profile's uiAlgID, and its output. */
  private internalSignCall(keyIndex: number, digest: Uint8Array): { args: unknown[]; out: Buffer } {
    requireIndex(keyIndex);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    const out = structBuffer(signatureStructSize(this.field));
    const args = this.library.options.internalSignWithAlgId
      ? [SGD.SGD_SM2_1, keyIndex, digest, digest.length, out]
      : [keyIndex, digest, digest.length, out];
    return { args, out };
  }

  /** Verifies r||s over the digest with the internal key; false when the device says SDR_VERIFYERR. */
  async internalVerify(keyIndex: number, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    requireIndex(keyIndex);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    requireBytes(signature, 'signature', 2 * SM2_VALUE_BYTES);
    return verdict(
      this.call('SDF_InternalVerify_ECC', [keyIndex, digest, digest.length, encodeSignature(signature, this.field)]),
    );
  }

  /** Verifies r||s over the digest with a given 64-byte public key. */
  async externalVerify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    requireBytes(signature, 'signature', 2 * SM2_VALUE_BYTES);
    return verdict(
      this.call('SDF_ExternalVerify_ECC', [
        SGD.SGD_SM2_1,
        encodePublicKey(publicKey, this.field),
        digest,
        digest.length,
        encodeSignature(signature, this.field),
      ]),
    );
  }

  /**
   * Starts an SM3 hash. With `publicKey` the device prefixes Z(ID, publicKey), so the final
   * digest is the SM2 signing input SM3(Z||M); `userId` defaults to "1234567812345678".
   */
  async hashInit(opts: { publicKey?: Uint8Array; userId?: Uint8Array | string } = {}): Promise<void> {
    if (!opts.publicKey) {
      await this.call('SDF_HashInit', [SGD.SGD_SM3, null, null, 0]);
      return;
    }
    requireBytes(opts.publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    const id = opts.userId === undefined ? DEFAULT_USER_ID : Buffer.from(opts.userId as Uint8Array);
    await this.call('SDF_HashInit', [SGD.SGD_SM3, encodePublicKey(opts.publicKey, this.field), id, id.length]);
  }

  /** Adds data to the hash; empty data adds nothing and makes no call (some devices refuse it). */
  async hashUpdate(data: Uint8Array): Promise<void> {
    requireBytes(data, 'data');
    if (data.length === 0) return;
    await this.call('SDF_HashUpdate', [data, data.length]);
  }

  async hashFinal(): Promise<Uint8Array> {
    const fn = 'SDF_HashFinal';
    const out = structBuffer(64);
    const length = [capacityOf(out)];
    await this.call(fn, [out, length]);
    checkOutput(out, capacityOf(out), fn);
    if (length[0] !== SM2_VALUE_BYTES) {
      throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned ${length[0]} bytes where SM3 gives 32`, { fn });
    }
    return new Uint8Array(out.subarray(0, SM2_VALUE_BYTES));
  }

  /** Hashes `data` in one go on the device, SM3(Z||data) when `publicKey` is given. */
  async hash(
    data: Uint8Array,
    opts: { publicKey?: Uint8Array; userId?: Uint8Array | string } = {},
  ): Promise<Uint8Array> {
    await this.hashInit(opts);
    await this.hashUpdate(data);
    return this.hashFinal();
  }

  /** SDF_GenerateKeyPair_ECC: a fresh SM2 key pair made by the device (publicKey x||y, privateKey d). */
  generateKeyPairEcc(opts: ecc.KeyPairOptions = {}): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
    return ecc.generateKeyPair(this, opts);
  }

  /** SDF_ExternalSign_ECC: signs the 32-byte digest e with a given private key; 64 bytes r||s. */
  externalSign(privateKey: Uint8Array, digest: Uint8Array): Promise<Uint8Array> {
    return ecc.externalSign(this, privateKey, digest);
  }

  /** SDF_ExternalEncrypt_ECC: SM2-encrypts `data` to a given 64-byte public key. */
  externalEncrypt(publicKey: Uint8Array, data: Uint8Array): Promise<Sm2Ciphertext> {
    return ecc.externalEncrypt(this, publicKey, data);
  }

  /** SDF_ExternalDecrypt_ECC: decrypts with a given 32-byte private key. */
  externalDecrypt(privateKey: Uint8Array, cipher: Sm2Ciphertext): Promise<Uint8Array> {
    return ecc.externalDecrypt(this, privateKey, cipher);
  }

  /** SDF_InternalEncrypt_ECC: SM2-encrypts to the internal encryption key at `keyIndex`. */
  internalEncrypt(keyIndex: number, data: Uint8Array): Promise<Sm2Ciphertext> {
    return ecc.internalEncrypt(this, keyIndex, data);
  }

  /** SDF_InternalDecrypt_ECC: decrypts with the internal encryption key (needs the access right). */
  internalDecrypt(keyIndex: number, cipher: Sm2Ciphertext): Promise<Uint8Array> {
    return ecc.internalDecrypt(this, keyIndex, cipher);
  }

  /** SDF_GenerateKeyWithIPK_ECC: a new SM4 key, also returned SM2-encrypted to the internal key. */
  generateKeyWithIpk(keyIndex: number): Promise<{ key: SdfSessionKey; cipher: Sm2Ciphertext }> {
    return symmetric.generateKeyWithIpk(this, keyIndex);
  }

  /** SDF_GenerateKeyWithEPK_ECC: a new SM4 key, also returned SM2-encrypted to `publicKey`. */
  generateKeyWithEpk(publicKey: Uint8Array): Promise<{ key: SdfSessionKey; cipher: Sm2Ciphertext }> {
    return symmetric.generateKeyWithEpk(this, publicKey);
  }

  /** SDF_ImportKeyWithISK_ECC: imports a key SM2-encrypted to the internal key (needs the access right). */
  importKeyWithIsk(keyIndex: number, cipher: Sm2Ciphertext): Promise<SdfSessionKey> {
    return symmetric.importKeyWithIsk(this, keyIndex, cipher);
  }

  /**
   * SDF_GenerateKeyWithKEK: a new SM4 key, also returned wrapped under the KEK with the library's
   * `kekAlgorithm` (SM4-ECB: 16 bytes; SM4-CBC: IV‖ciphertext) unless `opts.algorithm` says otherwise.
   */
  generateKeyWithKek(
    kekIndex: number,
    opts: symmetric.KekOptions = {},
  ): Promise<{ key: SdfSessionKey; wrapped: Uint8Array }> {
    return symmetric.generateKeyWithKek(this, kekIndex, opts);
  }

  /** SDF_ImportKeyWithKEK: imports a key wrapped under the KEK (as generateKeyWithKek returns it). */
  importKeyWithKek(kekIndex: number, wrapped: Uint8Array, opts: symmetric.KekOptions = {}): Promise<SdfSessionKey> {
    return symmetric.importKeyWithKek(this, kekIndex, wrapped, opts);
  }

  /** SDF_DestroyKey; destroying twice is a no-op. */
  destroyKey(key: SdfSessionKey): Promise<void> {
    return symmetric.destroyKey(this, key);
  }

  /** SDF_Encrypt with SM4, no padding: `data` is a non-empty multiple of 16 bytes. */
  encrypt(key: SdfSessionKey, data: Uint8Array, opts: Sm4Options = {}): Promise<Uint8Array> {
    return symmetric.encrypt(this, key, data, opts);
  }

  /** SDF_Decrypt with SM4, no padding. */
  decrypt(key: SdfSessionKey, data: Uint8Array, opts: Sm4Options = {}): Promise<Uint8Array> {
    return symmetric.decrypt(this, key, data, opts);
  }

  /** SDF_CalculateMAC with SGD_SM4_MAC: 16 bytes. */
  calculateMac(key: SdfSessionKey, data: Uint8Array, opts: { iv?: Uint8Array } = {}): Promise<Uint8Array> {
    return symmetric.calculateMac(this, key, data, opts);
  }

  /** @internal its device was closed, which closed the session with it: nothing left to close. */
  forgetClosedDevice(): void {
    this.#calls.retire();
    this.#handle = null;
    this.owner.sessionEnded(this, true);
  }

  /** Resolves once no call of this session is in flight. */
  whenIdle(): Promise<void> {
    return this.#calls.whenIdle();
  }

  /**
   * Closes the session once its calls in flight have returned, giving back its access rights
   * first (a session whose close fails must not hold them). Closing twice shares one close;
   * after a failed close, calling close() again tries again.
   */
  close(): Promise<void> {
    this.#closing ??= this.closeOnce().finally(() => (this.#closing = null));
    return this.#closing;
  }

  private async closeOnce(): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return;
    this.#calls.retire();
    await this.whenIdle();
    for (const index of this.#rights) {
      try {
        await this.library.call('SDF_ReleasePrivateKeyAccessRight', [handle, index], this.#calls.begin());
        this.#rights.delete(index);
      } catch {
        // the close below gives the right back too, on devices that honour it
      }
    }
    try {
      await this.library.call('SDF_CloseSession', [handle], this.#calls.begin());
    } catch (error) {
      this.owner.sessionEnded(this, false);
      throw error;
    }
    this.#handle = null;
    this.owner.sessionEnded(this, true);
  }
}

async function verdict(call: Promise<void>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    if (error instanceof SdfError && error.code === SDR.SDR_VERIFYERR) return false;
    throw error;
  }
}
