import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';
import { parsePrivateKey, publicKeyFromPrivateKey, sm2SignDigest } from '../sm2';
import { SignerClosedError } from './errors';
import { PublicKeyHolder, requireDigest } from './key-material';
import { SignWorkers } from './sign-workers';
import type { SignOptions, Sm2Signer } from './types';

export interface SoftwareSignerOptions {
  /**
   * Worker threads that sign (default 0: sign on the calling thread). A process that signs at a
   * high rate, such as the signing service, keeps its event loop free this way and uses more cores.
   */
  threads?: number;
}

/** SM2 in pure JS from a private key held in this process (FISCO's `enable_hsm=false`). */
export class SoftwareSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'software' as const;
  // A #private field: util.inspect, JSON.stringify and Object.keys never reach it.
  #privateKey: Uint8Array | null;
  #workers: SignWorkers | undefined;
  /** Set by close(): from then on no new sign starts. */
  #closing: Promise<void> | undefined;

  private constructor(privateKey: Uint8Array, opts: SoftwareSignerOptions) {
    super(publicKeyFromPrivateKey(privateKey));
    this.#privateKey = privateKey;
    const threads = opts.threads ?? 0;
    try {
      if (threads !== 0) this.#workers = new SignWorkers(privateKey, threads);
    } catch (error) {
      privateKey.fill(0);
      throw error;
    }
  }

  /** Takes a copy of the 32-byte private key; the caller may zero its own. */
  static fromPrivateKey(privateKey: Uint8Array, opts: SoftwareSignerOptions = {}): SoftwareSigner {
    return new SoftwareSigner(Uint8Array.from(privateKey), opts);
  }

  /** Worker threads signing for this signer (0: it signs on the calling thread). */
  get threads(): number {
    return this.#workers?.size ?? 0;
  }

  /** Reads a PEM (SEC1 or PKCS#8) or hex key file such as FISCO's conf/node.pem. */
  static fromKeyFile(path: string, opts: SoftwareSignerOptions = {}): SoftwareSigner {
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError('CONFIG_KEY_FILE', `private key file ${path} cannot be read (${reason})`, {
        file: path,
        key: 'private_key_path',
      });
    }
    let privateKey: Uint8Array;
    try {
      privateKey = parsePrivateKey(content, path);
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        throw new ConfigError('CONFIG_KEY_FILE', error.message, { file: path, key: 'private_key_path' });
      }
      throw error;
    } finally {
      content.fill(0);
    }
    return new SoftwareSigner(privateKey, opts);
  }

  private key(): Uint8Array {
    if (this.#closing !== undefined || this.#privateKey === null) throw new SignerClosedError(this.backend);
    return this.#privateKey;
  }

  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    return this.signDigest(this.digestOf(message, opts.userId));
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    requireDigest(digest);
    const key = this.key();
    return this.#workers === undefined ? sm2SignDigest(key, digest) : this.#workers.signDigest(digest);
  }

  /** Refuses new signs, waits for the ones in flight on the threads, then forgets the key. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    try {
      await this.#workers?.close();
    } finally {
      this.#workers = undefined;
      this.#privateKey?.fill(0);
      this.#privateKey = null;
    }
  }
}
