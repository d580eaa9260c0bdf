import { inspect } from 'node:util';
import { nodeIdOf, sm2Verify, sm2Z } from '../sm2';
import { sm3Parts } from '../sm2/sm3';
import type { SignerBackend, SignOptions } from './types';

/** What every backend derives the same way from its public key. */
export abstract class PublicKeyHolder {
  abstract readonly backend: SignerBackend;
  readonly nodeId: string;
  #defaultZ: Uint8Array | undefined;

  protected constructor(readonly publicKey: Uint8Array) {
    this.nodeId = nodeIdOf(publicKey);
  }

  /** e = SM3(Z||message) for this key; Z of the default user ID is computed once. */
  protected digestOf(message: Uint8Array, userId: Uint8Array | string | undefined): Uint8Array {
    requireMessage(message);
    const z = userId === undefined ? (this.#defaultZ ??= sm2Z(this.publicKey)) : sm2Z(this.publicKey, userId);
    return sm3Parts([z, message]);
  }

  /** What a log line may show of a signer: which backend and which key, nothing of its internals. */
  toJSON(): { backend: SignerBackend; nodeId: string } {
    return { backend: this.backend, nodeId: this.nodeId };
  }

  [inspect.custom](): string {
    return `${this.constructor.name} { backend: '${this.backend}', nodeId: '${this.nodeId}' }`;
  }

  /** Verification needs no secret, so every backend does it on the host. */
  async verify(message: Uint8Array, signature: Uint8Array, opts: SignOptions = {}): Promise<boolean> {
    return sm2Verify(this.publicKey, message, signature, opts);
  }
}

export function requireDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array)) throw new TypeError('digest must be a Uint8Array');
  if (digest.length !== 32) throw new RangeError(`digest must be 32 bytes (SM3), got ${digest.length}`);
}

export function requireMessage(message: Uint8Array): void {
  if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
}
