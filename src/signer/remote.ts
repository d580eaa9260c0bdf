import { type SecurityConfig } from '../config';
import { readSecretFile } from '../config/secret-file';
import { bytesToHex } from '../sm2';
import { PublicKeyHolder, requireDigest } from './key-material';
import { chooseKey, verifiedSignature } from './remote-answers';
import { remoteSettings, type RemoteSignerOptions } from './remote-options';
import { endpointsOf, Transport } from './remote-transport';
import type { SignOptions, Sm2Signer } from './types';

export { RemoteSignerError } from './remote-errors';
export type { RemoteSignerOptions } from './remote-options';

/**
 * An Sm2Signer whose key stays behind `gmt0018 serve`. Every signature the service returns is
 * verified here against the signer's public key before it is handed out (unless the caller
 * opted out with `verifySignatures: false`).
 */
export class RemoteSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'remote' as const;
  // #private: the transport holds the bearer token and the TLS client key.
  readonly #transport: Transport;
  /** `,"keyIndex":N` for the sign request body, or nothing when the service picks its key. */
  readonly #keyIndexField: string;
  readonly #verify: boolean;

  private constructor(
    transport: Transport,
    readonly keyIndex: number | null,
    publicKey: Uint8Array,
    verify: boolean,
  ) {
    super(publicKey);
    this.#transport = transport;
    this.#keyIndexField = keyIndex === null ? '' : `,"keyIndex":${keyIndex}`;
    this.#verify = verify;
  }

  /** @internal use createRemoteSigner */
  static async connect(opts: RemoteSignerOptions): Promise<RemoteSigner> {
    const settings = remoteSettings(opts);
    const headers: Record<string, string> = {};
    if (opts.token !== undefined && opts.token !== '') headers.authorization = `Bearer ${opts.token}`;
    // Loaded on first use: undici costs ~90 ms of start-up that local signers never need.
    const { Pool: PoolClass } = await import('undici');
    const transport = new Transport(endpointsOf(opts, settings.connections, PoolClass), headers, settings);
    try {
      const key = await transport.call('GET', '/v1/keys', null, (listing, url) => chooseKey(url, listing, settings));
      return new RemoteSigner(transport, key.keyIndex, key.publicKey, settings.verifySignatures);
    } catch (error) {
      await transport.close();
      throw error;
    }
  }

  /**
   * Sends only e = SM3(Z||message), computed here: the service signs it the same way, and the
   * message, however long, never crosses the network.
   */
  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    return this.signDigest(this.digestOf(message, opts.userId));
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    requireDigest(digest);
    const hex = bytesToHex(digest);
    // What is verified is what was sent, whatever the caller does with `digest` meanwhile.
    const expected = {
      publicKey: this.publicKey,
      nodeId: this.nodeId,
      digest: new Uint8Array(digest),
      verify: this.#verify,
    };
    // Written out rather than JSON.stringify'd: hex and an integer need no escaping.
    const body = `{"digest":"${hex}"${this.#keyIndexField}}`;
    return this.#transport.call('POST', '/v1/sign', body, (answer, url) => verifiedSignature(url, answer, expected));
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/** A signer backed by `gmt0018 serve`; fetches the public key from /v1/keys before returning. */
export function createRemoteSigner(opts: RemoteSignerOptions): Promise<RemoteSigner> {
  return RemoteSigner.connect(opts);
}

/** The options `[security] remote_signer_url` / `remote_signer_token_file` stand for. */
export function remoteSignerOptionsFromConfig(config: SecurityConfig): RemoteSignerOptions {
  const settings = config.remoteSigner;
  if (settings === undefined) throw new TypeError('the config has no remote_signer_url');
  const opts: RemoteSignerOptions = { urls: settings.urls };
  if (settings.tokenFile !== undefined) {
    opts.token = readSecretFile(settings.tokenFile, 'remote_signer_token_file', config.configPath);
  }
  return opts;
}
