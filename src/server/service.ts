import { bytesToHex, normalizePublicKey, parseSignature, signatureToDer, sm2Verify, toFiscoSignature } from '../sm2';
import { ApiError, deviceErrorCode, isDeviceError } from './errors';
import type { KeyRing, ServedKey } from './keys';
import type { Limiter } from './limiter';
import type { ServerMetrics } from './metrics';
import type { SignRequest, VerifyRequest } from './requests';

/** A probe signature younger than this makes /readyz answer without touching the device. */
const READY_FRESH_MS = 5_000;
const PROBE_DIGEST = new Uint8Array(32).fill(0x5a);

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
  ) {}

  listKeys(): { keyIndex: number | null; publicKey: string; nodeId: string }[] {
    return this.keys.list().map(({ keyIndex, signer }) => ({
      keyIndex,
      publicKey: bytesToHex(signer.publicKey),
      nodeId: signer.nodeId,
    }));
  }

  async sign(request: SignRequest): Promise<{ signature: string; publicKey: string }> {
    const key = this.keys.select(request.keyIndex);
    const rs = await this.timedSign(key, () =>
      request.digest !== undefined
        ? key.signer.signDigest(request.digest)
        : key.signer.sign(
            request.message as Uint8Array,
            request.userId === undefined ? {} : { userId: request.userId },
          ),
    );
    const publicKey = key.signer.publicKey;
    const encoded =
      request.format === 'der' ? signatureToDer(rs) : request.format === 'fisco' ? toFiscoSignature(rs, publicKey) : rs;
    return { signature: bytesToHex(encoded), publicKey: bytesToHex(publicKey) };
  }

  verify(request: VerifyRequest): { valid: boolean } {
    let parsed: ReturnType<typeof parseSignature> | undefined;
    try {
      parsed = parseSignature(request.signature);
    } catch {
      parsed = undefined; // not a signature in any form: it verifies nothing
    }
    const embeddedKey = parsed?.publicKey === undefined ? undefined : checkedPublicKey(parsed.publicKey);
    let publicKey = this.keys.select(undefined).signer.publicKey;
    if (request.publicKey !== undefined) publicKey = checkedPublicKey(request.publicKey);
    else if (embeddedKey !== undefined) publicKey = embeddedKey;
    if (parsed === undefined) return { valid: false };
    const signature = parsed.signature;
    const opts = request.userId === undefined ? {} : { userId: request.userId };
    return { valid: sm2Verify(publicKey, request.message, signature, opts) };
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
