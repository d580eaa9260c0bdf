import type { Pkcs11Settings } from '../config/types';
import type { SdfLibraryOptions } from '../sdf';
import type { SignOptions, SignerAlgorithm } from './algorithms';
import type { RetryPolicy } from './recovery';

export type SignerBackend = 'hsm' | 'pkcs11' | 'software' | 'remote';
export type { SignerAlgorithm, SignOptions };

/**
 * One key that can sign: inside a cipher card, a PKCS#11 HSM, in software, or behind a signing
 * service. `sign` hashes as the algorithm requires (SM2: SM3(Z‖M); ECDSA: SHA-256 unless
 * `hash` says otherwise; Ed25519 signs the message itself).
 */
export interface Signer {
  readonly backend: SignerBackend;
  readonly algorithm: SignerAlgorithm;
  /** x‖y (64 bytes, big-endian) for SM2 and ECDSA keys; the 32-byte point for Ed25519. */
  readonly publicKey: Uint8Array;
  /** Lowercase hex of the public key (for SM2, FISCO's node ID). */
  readonly nodeId: string;
  /** 64 bytes: r‖s (Ed25519: R‖S); ECDSA on secp256k1 always low-S. */
  sign(message: Uint8Array, opts?: SignOptions): Promise<Uint8Array>;
  /** 64-byte r‖s over a digest the caller computed (SM2: e = SM3(Z‖M)); not for Ed25519. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  verify(message: Uint8Array, signature: Uint8Array, opts?: SignOptions): Promise<boolean>;
  /** Releases the key material or the device; the signer cannot be used afterwards. */
  close(): Promise<void>;
}

/**
 * The name Signer had before it took other algorithms than SM2, kept so that code written
 * against it (`const signer: Sm2Signer = await createSigner(…)`) keeps compiling. SDF, software
 * and remote signers always have `algorithm: 'sm2'`.
 */
export type Sm2Signer = Signer;

export interface SignerOptions {
  /** PKCS#11 backend settings, over the config's pkcs11_* keys (`pin` here is never shown). */
  pkcs11?: Partial<Pkcs11Settings> & { pin?: string };
  /** Refuse any backend but this one (a typo in config.ini must not fall back to another). */
  backend?: SignerBackend;
  /** ECDSA on P-256: return low-S signatures (s ≤ n/2), as Hyperledger Fabric requires. Always on for secp256k1. */
  lowS?: boolean;
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
   * HSM and PKCS#11 backends, for fast devices: sign on this many threads of our own (default 0:
   * the libuv pool and `sessions`), each owning one session and making its calls synchronously,
   * handed in batches through shared memory. Costs the event loop far less per signature than a
   * pool call, but each thread signs one signature at a time: a slow device wants `sessions`
   * instead. Not with `sessions`; HSM: not with `digestOn: 'device'` or `hsm_thread_model=serial`;
   * PKCS#11: keys that sign digests (not Ed25519). Default: the config's hsm_sign_threads or
   * pkcs11_sign_threads.
   */
  signThreads?: number;
  /**
   * Where the HSM backend computes e = SM3(Z||M): 'host' (default, measured faster: one device
   * call per signature) or 'device' (SDF_HashInit/Update/Final, then the signature).
   */
  digestOn?: 'host' | 'device';
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
