import { inspect } from 'node:util';
import { sm2Z } from '../sm2';
import { sm3Parts } from '../sm2/sm3';
import { verifyWith, type SignerAlgorithm } from './algorithms';
import type { SignerBackend, SignOptions } from './types';

/** What every backend derives the same way from its public key. */
export abstract class PublicKeyHolder<A extends SignerAlgorithm = 'sm2'> {
  abstract readonly backend: SignerBackend;
  readonly nodeId: string;
  #defaultZ: Uint8Array | undefined;

  protected constructor(
    readonly publicKey: Uint8Array,
    readonly algorithm: A = 'sm2' as A,
  ) {
    this.nodeId = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  }

  /** e = SM3(Z||message) for this key; Z of the default user ID is computed once. */
  protected digestOf(message: Uint8Array, userId: Uint8Array | string | undefined): Uint8Array {
    requireMessage(message);
    const z = userId === undefined ? (this.#defaultZ ??= sm2Z(this.publicKey)) : sm2Z(this.publicKey, userId);
    return sm3Parts([z, message]);
  }

  /** What a log line may show of a signer: which backend and which key, nothing of its internals. */
  toJSON(): { backend: SignerBackend; algorithm: SignerAlgorithm; nodeId: string } {
    return { backend: this.backend, algorithm: this.algorithm, nodeId: this.nodeId };
  }

  [inspect.custom](): string {
    return `${this.constructor.name} { backend: '${this.backend}', algorithm: '${this.algorithm}', nodeId: '${this.nodeId}' }`;
  }

  /** Verification needs no secret, so every backend does it on the host. */
  async verify(message: Uint8Array, signature: Uint8Array, opts: SignOptions = {}): Promise<boolean> {
    return verifyWith(this.algorithm, this.publicKey, message, signature, opts);
  }
}

export function requireDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array)) throw new TypeError('digest must be a Uint8Array');
  if (digest.length !== 32) throw new RangeError(`digest must be 32 bytes (SM3), got ${digest.length}`);
}

export function requireMessage(message: Uint8Array): void {
  if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
}
