import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';
import { parsePrivateKey, publicKeyFromPrivateKey, sm2Sign, sm2SignDigest } from '../sm2';
import { SignerClosedError } from './errors';
import { PublicKeyHolder, requireDigest, requireMessage } from './key-material';
import type { SignOptions, Sm2Signer } from './types';

/** SM2 in pure JS from a private key held in this process (FISCO's `enable_hsm=false`). */
export class SoftwareSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'software' as const;
  // A #private field: util.inspect, JSON.stringify and Object.keys never reach it.
  #privateKey: Uint8Array | null;

  private constructor(privateKey: Uint8Array) {
    super(publicKeyFromPrivateKey(privateKey));
    this.#privateKey = privateKey;
  }

  /** Takes a copy of the 32-byte private key; the caller may zero its own. */
  static fromPrivateKey(privateKey: Uint8Array): SoftwareSigner {
    return new SoftwareSigner(Uint8Array.from(privateKey));
  }

  /** Reads a PEM (SEC1 or PKCS#8) or hex key file such as FISCO's conf/node.pem. */
  static fromKeyFile(path: string): SoftwareSigner {
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
    try {
      return new SoftwareSigner(parsePrivateKey(content, path));
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        throw new ConfigError('CONFIG_KEY_FILE', error.message, { file: path, key: 'private_key_path' });
      }
      throw error;
    } finally {
      content.fill(0);
    }
  }

  private key(): Uint8Array {
    if (this.#privateKey === null) throw new SignerClosedError(this.backend);
    return this.#privateKey;
  }

  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    requireMessage(message);
    return sm2Sign(this.key(), message, { userId: opts.userId, publicKey: this.publicKey });
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    requireDigest(digest);
    return sm2SignDigest(this.key(), digest);
  }

  async close(): Promise<void> {
    this.#privateKey?.fill(0);
    this.#privateKey = null;
  }
}
