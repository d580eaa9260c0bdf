import type { SdfLibraryOptions } from '../sdf';
import type { RetryPolicy } from './recovery';

export type SignerBackend = 'hsm' | 'software' | 'remote';

export interface SignOptions {
  /** SM2 user ID for the Z value; default "1234567812345678". */
  userId?: Uint8Array | string;
}

/** One SM2 key that can sign: inside a cipher card, in software, or behind a signing service. */
export interface Sm2Signer {
  readonly backend: SignerBackend;
  /** 64 bytes x||y, big-endian. */
  readonly publicKey: Uint8Array;
  /** 128 lowercase hex characters of the public key, as FISCO prints a node ID. */
  readonly nodeId: string;
  /** 64-byte r||s over e = SM3(Z||message). */
  sign(message: Uint8Array, opts?: SignOptions): Promise<Uint8Array>;
  /** 64-byte r||s over a 32-byte digest e that the caller computed as SM3(Z||M). */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  verify(message: Uint8Array, signature: Uint8Array, opts?: SignOptions): Promise<boolean>;
  /** Releases the key material or the device; the signer cannot be used afterwards. */
  close(): Promise<void>;
}

export interface SignerOptions {
  /**
   * Software backend: worker threads that sign (default 0, on the calling thread). For processes
   * that sign at a high rate; `gmt0018 serve` uses one per core but one.
   */
  threads?: number;
  /** How the vendor's SDF library differs from the standard (HSM backend only). */
  library?: SdfLibraryOptions;
  /**
   * Sessions the HSM backend opens, each serving one operation at a time. Default: the libuv
   * thread-pool size minus one (so 3 unless UV_THREADPOOL_SIZE is set), at most 64; device
   * calls run on that pool, so more sessions than threads add no parallelism.
   */
  sessions?: number;
  /**
   * Where the HSM backend computes e = SM3(Z||M): 'host' (default, measured faster: one device
   * call per signature) or 'device' (SDF_HashInit/Update/Final, then the signature).
   */
  digest?: 'host' | 'device';
  /**
   * What the HSM backend does when a session fails with a link or session code (SDR_COMMFAIL,
   * SDR_HARDFAIL, SDR_OPENSESSION, SDR_OPENDEVICE, SDR_UNKNOWERR): the session is replaced and
   * the operation tried again, `attempts` times in all (default 3) with backoff from
   * `baseDelayMs` (50) doubling up to `maxDelayMs` (1000). Raise them to ride out longer outages;
   * `attempts: 1` fails fast. Request errors (SDR_PARDENY, SDR_KEYNOTEXIST, …) are never retried.
   */
  retry?: Partial<RetryPolicy>;
  /**
   * A session idle this long (default 30 000 ms) is checked with a cheap call before it is used,
   * and replaced if the device dropped it. 0 checks before every use.
   */
  healthCheckIdleMs?: number;
  /**
   * HSM backend: verify every signature the card returns on the host before handing it out
   * (default: the config's hsm_verify_signatures, else false). A signature that does not verify
   * fails with SDF_KEY_CHANGED when the card now holds another key, else SDF_BAD_SIGNATURE.
   */
  verifySignatures?: boolean;
}
