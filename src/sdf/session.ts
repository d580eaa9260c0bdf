import { requireBytes, requireIndex } from './arguments';
import { SDR, SGD } from './codes';
import { SdfBindingError, SdfError } from './errors';
import type { SdfLibrary } from './library';
import {
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

/** Random requests up to this size go in one call, without asking the device its BufferSize. */
const MIN_RANDOM_CHUNK = 1024;

/** Standard ID of SM2 signatures (GB/T 35276), used for the device-side Z value. */
const DEFAULT_USER_ID = Buffer.from('1234567812345678');

/**
 * One session on an SDF device. Each method is one or a few SDF calls run off the event loop.
 * A session is used by one operation at a time; the caller (e.g. a pool) serialises its use.
 */
export class SdfSession {
  private handle: Handle | null;

  constructor(
    /** @internal the library, for the method groups in session-ecc.ts and session-symmetric.ts */
    readonly library: SdfLibrary,
    handle: Handle,
    private readonly onClose: (session: SdfSession) => void,
  ) {
    this.handle = handle;
  }

  get closed(): boolean {
    return this.handle === null;
  }

  /** @internal the open handle, or an error naming `fn` */
  live(fn: string): Handle {
    if (this.handle === null) {
      throw new SdfBindingError('SDF_HANDLE_CLOSED', `${fn} called on a closed session`, { fn });
    }
    return this.handle;
  }

  private get field() {
    return this.library.options.eccFieldBytes;
  }

  async getDeviceInfo(): Promise<DeviceInfo> {
    const out = Buffer.alloc(DEVICE_INFO_SIZE);
    await this.library.call('SDF_GetDeviceInfo', this.live('SDF_GetDeviceInfo'), out);
    return decodeDeviceInfo(out);
  }

  async generateRandom(length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
      throw new RangeError(`random length must be a non-negative integer, got ${length}`);
    }
    const out = Buffer.alloc(length);
    // Devices refuse more than their BufferSize in one call: ask for it in pieces of that size.
    const chunk = length > MIN_RANDOM_CHUNK ? await this.randomChunkSize() : length;
    for (let at = 0; at < length; at += chunk) {
      const piece = out.subarray(at, Math.min(at + chunk, length));
      await this.library.call('SDF_GenerateRandom', this.live('SDF_GenerateRandom'), piece.length, piece);
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  private randomChunk?: number;

  private async randomChunkSize(): Promise<number> {
    if (this.randomChunk === undefined) {
      const { bufferSize } = await this.getDeviceInfo();
      this.randomChunk = bufferSize > 0 ? bufferSize : MIN_RANDOM_CHUNK;
    }
    return this.randomChunk;
  }

  /**
   * Unlocks the internal private key at `keyIndex` for this session. A string password is
   * encoded as UTF-8; the encoded copy is zeroed after the call (JS strings themselves cannot be).
   */
  async getPrivateKeyAccessRight(keyIndex: number, password: string | Uint8Array): Promise<void> {
    requireIndex(keyIndex);
    const secret = Buffer.from(typeof password === 'string' ? Buffer.from(password, 'utf8') : password);
    try {
      await this.library.call(
        'SDF_GetPrivateKeyAccessRight',
        this.live('SDF_GetPrivateKeyAccessRight'),
        keyIndex,
        secret,
        secret.length,
      );
    } finally {
      secret.fill(0);
    }
  }

  async releasePrivateKeyAccessRight(keyIndex: number): Promise<void> {
    requireIndex(keyIndex);
    await this.library.call(
      'SDF_ReleasePrivateKeyAccessRight',
      this.live('SDF_ReleasePrivateKeyAccessRight'),
      keyIndex,
    );
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
    await this.library.call(fn, this.live(fn), keyIndex, out);
    return decodePublicKey(out, this.field, fn);
  }

  /** Signs the 32-byte digest e = SM3(Z||M) with the internal key; returns 64 bytes r||s. */
  async internalSign(keyIndex: number, digest: Uint8Array): Promise<Uint8Array> {
    const { args, out } = this.internalSignCall(keyIndex, digest);
    await this.library.call('SDF_InternalSign_ECC', ...args);
    return decodeSignature(out, this.field, 'SDF_InternalSign_ECC');
  }

  /**
   * internalSign on the calling thread: no thread-pool hop, but the event loop waits for the
   * device. For scripts and the benchmark's per-call overhead figure.
   */
  internalSignSync(keyIndex: number, digest: Uint8Array): Uint8Array {
    const { args, out } = this.internalSignCall(keyIndex, digest);
    this.library.callSync('SDF_InternalSign_ECC', ...args);
    return decodeSignature(out, this.field, 'SDF_InternalSign_ECC');
  }

  /** Arguments of SDF_InternalSign_ECC, with the profile's leading uiAlgID, and its output struct. */
  private internalSignCall(keyIndex: number, digest: Uint8Array): { args: unknown[]; out: Buffer } {
    requireIndex(keyIndex);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    const out = structBuffer(signatureStructSize(this.field));
    const handle = this.live('SDF_InternalSign_ECC');
    const args = this.library.options.internalSignWithAlgId
      ? [handle, SGD.SGD_SM2_1, keyIndex, digest, digest.length, out]
      : [handle, keyIndex, digest, digest.length, out];
    return { args, out };
  }

  /** Verifies r||s over the digest with the internal key; false when the device says SDR_VERIFYERR. */
  async internalVerify(keyIndex: number, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    requireIndex(keyIndex);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    requireBytes(signature, 'signature', 2 * SM2_VALUE_BYTES);
    const fn = 'SDF_InternalVerify_ECC';
    return verdict(
      this.library.call(fn, this.live(fn), keyIndex, digest, digest.length, encodeSignature(signature, this.field)),
    );
  }

  /** Verifies r||s over the digest with a given 64-byte public key. */
  async externalVerify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    requireBytes(signature, 'signature', 2 * SM2_VALUE_BYTES);
    const fn = 'SDF_ExternalVerify_ECC';
    return verdict(
      this.library.call(
        fn,
        this.live(fn),
        SGD.SGD_SM2_1,
        encodePublicKey(publicKey, this.field),
        digest,
        digest.length,
        encodeSignature(signature, this.field),
      ),
    );
  }

  /**
   * Starts an SM3 hash. With `publicKey` the device prefixes Z(ID, publicKey), so the final
   * digest is the SM2 signing input SM3(Z||M); `userId` defaults to "1234567812345678".
   */
  async hashInit(opts: { publicKey?: Uint8Array; userId?: Uint8Array | string } = {}): Promise<void> {
    const fn = 'SDF_HashInit';
    if (!opts.publicKey) {
      await this.library.call(fn, this.live(fn), SGD.SGD_SM3, null, null, 0);
      return;
    }
    requireBytes(opts.publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    const id = opts.userId === undefined ? DEFAULT_USER_ID : Buffer.from(opts.userId as Uint8Array);
    await this.library.call(fn, this.live(fn), SGD.SGD_SM3, encodePublicKey(opts.publicKey, this.field), id, id.length);
  }

  async hashUpdate(data: Uint8Array): Promise<void> {
    requireBytes(data, 'data');
    await this.library.call('SDF_HashUpdate', this.live('SDF_HashUpdate'), data, data.length);
  }

  async hashFinal(): Promise<Uint8Array> {
    const fn = 'SDF_HashFinal';
    const out = Buffer.alloc(64);
    const length = [out.length];
    await this.library.call(fn, this.live(fn), out, length);
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

  /** Closes the session; closing twice is a no-op. */
  async close(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    this.onClose(this);
    await this.library.call('SDF_CloseSession', handle);
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
