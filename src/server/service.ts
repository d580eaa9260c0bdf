import { setImmediate as nextTurn } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { digestFor, signsDigest, verifyWith } from '../signer/algorithms';
import { bytesToHex, normalizePublicKey, parseSignature, signatureToDer, toFiscoSignature } from '../sm2';
import { ApiError, deviceErrorCode, isDeviceError } from './errors';
import type { KeyRing, ServedKey } from './keys';
import type { Limiter } from './limiter';
import type { ServerMetrics } from './metrics';
import type { SignatureFormat, SignRequest, VerifyRequest } from './requests';

/** A probe signature younger than this makes /readyz answer without touching the device. */
const READY_FRESH_MS = 5_000;
const PROBE_DIGEST = new Uint8Array(32).fill(0x5a);

/**
 * A sign request resolved to a served key and what it signs: the digest, or for an Ed25519 key
 * (which signs the message itself) the message, with its SHA-256 as the digest the audit records.
 */
export interface PreparedSign {
  key: ServedKey;
  digest: Uint8Array;
  message?: Uint8Array;
}

export interface SignAnswer {
  signature: string;
  publicKey: string;
}

export interface Readiness {
  ready: boolean;
  code?: string;
}

/** What the routes do, apart from HTTP: sign through the limiter, verify, and track readiness. */
export class SigningService {
  private lastOk = 0;
  private lastFailure: string | undefined;
  private probing: Promise<Readiness> | undefined;

  constructor(
    readonly keys: KeyRing,
    private readonly limiter: Limiter,
    private readonly metrics: ServerMetrics,
    /** Verifications run on the event loop: one per loop turn, a bounded queue in front. */
    private readonly verifyLimiter: Limiter,
  ) {}

  listKeys(): { keyIndex: number | null; algorithm: string; publicKey: string; nodeId: string }[] {
    return this.keys.list().map(({ keyIndex, signer }) => ({
      keyIndex,
      algorithm: signer.algorithm,
      publicKey: bytesToHex(signer.publicKey),
      nodeId: signer.nodeId,
    }));
  }

  /**
   * The key a sign request names and the 32-byte digest to sign: the request's digest, or
   * e = SM3(Z‖M) of its message, computed here on the host (as both backends do by default) so
   * that the audit trail records exactly the value signed.
   */
  prepare(request: SignRequest): PreparedSign {
    const key = this.keys.select(request.keyIndex);
    const { algorithm, publicKey } = key.signer;
    if (algorithm !== 'sm2' && (request.userId !== undefined || request.format === 'fisco')) {
      throw new ApiError(400, 'BAD_REQUEST', `userId and the fisco format are for SM2 keys; this key is ${algorithm}`);
    }
    if (!signsDigest(algorithm)) {
      if (request.message === undefined) throw new ApiError(400, 'BAD_REQUEST', `an ${algorithm} key signs messages`);
      return { key, message: request.message, digest: createHash('sha256').update(request.message).digest() };
    }
    const opts = request.userId === undefined ? {} : { userId: request.userId };
    return { key, digest: request.digest ?? digestFor(algorithm, publicKey, request.message as Uint8Array, opts) };
  }

  async signPrepared({ key, digest, message }: PreparedSign, format: SignatureFormat): Promise<SignAnswer> {
    const rs = await this.timedSign(key, () =>
      message === undefined ? key.signer.signDigest(digest) : key.signer.sign(message),
    );
    const publicKey = key.signer.publicKey;
    const encoded = format === 'der' ? signatureToDer(rs) : format === 'fisco' ? toFiscoSignature(rs, publicKey) : rs;
    return { signature: bytesToHex(encoded), publicKey: bytesToHex(publicKey) };
  }

  async sign(request: SignRequest): Promise<SignAnswer> {
    return this.signPrepared(this.prepare(request), request.format);
  }

  /**
   * A verification costs the event loop about a millisecond of pure computation. Each runs in a
   * turn of the loop of its own, one at a time, after the I/O of that turn: a flood of them only
   * fills the verify queue (then 429) instead of holding every other request, probes included.
   */
  async verify(request: VerifyRequest): Promise<{ valid: boolean }> {
    return this.verifyLimiter.run(async () => {
      await nextTurn();
      return this.verifyNow(request);
    });
  }

  /**
   * Verifies against the key the request names: `publicKey`, or the served key `keyIndex` (the
   * default key when it names neither). A FISCO signature's embedded public key is never trusted
   * on its own: anyone can make a key and sign with it. It only has to match the key named.
   */
  private verifyNow(request: VerifyRequest): { valid: boolean } {
    if (request.publicKey !== undefined && request.keyIndex !== undefined) {
      throw new ApiError(400, 'BAD_REQUEST', 'give publicKey or keyIndex, not both');
    }
    // A key given in the request is an SM2 key; a served key verifies with its own algorithm.
    const served = request.publicKey === undefined ? this.keys.select(request.keyIndex).signer : undefined;
    const algorithm = served?.algorithm ?? 'sm2';
    const publicKey =
      served === undefined
        ? checkedPublicKey(request.publicKey as Uint8Array)
        : algorithm === 'sm2'
          ? normalizePublicKey(served.publicKey)
          : served.publicKey;
    let parsed: ReturnType<typeof parseSignature>;
    try {
      parsed = parseSignature(request.signature);
    } catch {
      return { valid: false }; // not a signature in any form: it verifies nothing
    }
    if (parsed.publicKey !== undefined && !Buffer.from(parsed.publicKey).equals(publicKey)) return { valid: false };
    const opts = request.userId === undefined ? {} : { userId: request.userId };
    return { valid: verifyWith(algorithm, publicKey, request.message, parsed.signature, opts) };
  }

  /** Ready when a signature succeeded recently and none failed since; else a probe decides now. */
  async readiness(): Promise<Readiness> {
    if (this.lastFailure === undefined && Date.now() - this.lastOk < READY_FRESH_MS) return { ready: true };
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probe(): Promise<Readiness> {
    try {
      for (const key of this.keys.list()) await this.timedSign(key, () => key.signer.signDigest(PROBE_DIGEST));
      return { ready: true };
    } catch (error) {
      if (error instanceof ApiError) return { ready: false, code: error.code };
      return { ready: false, code: isDeviceError(error) ? deviceErrorCode(error) : 'INTERNAL' };
    }
  }

  private async timedSign(key: ServedKey, task: () => Promise<Uint8Array>): Promise<Uint8Array> {
    return this.limiter.run(async () => {
      const stop = this.metrics.signSeconds.startTimer({ backend: key.signer.backend });
      try {
        const signature = await task();
        stop();
        this.lastOk = Date.now();
        this.lastFailure = undefined;
        return signature;
      } catch (error) {
        if (isDeviceError(error)) {
          const code = deviceErrorCode(error);
          this.lastFailure = code;
          this.metrics.deviceErrors.inc({ code });
        }
        throw error;
      }
    });
  }
}

function checkedPublicKey(bytes: Uint8Array): Uint8Array {
  try {
    return normalizePublicKey(bytes);
  } catch (error) {
    throw new ApiError(400, 'BAD_PUBLIC_KEY', (error as Error).message);
  }
}
