import { loadSecurityConfig, type SecurityConfig } from '../config';
import { HsmSigner } from './hsm';
import { SoftwareSigner } from './software';
import { createRemoteSigner, remoteSignerOptionsFromConfig } from './remote';
import type { Sm2Signer, SignerOptions } from './types';

/**
 * The signer a node's `[security]` section asks for: the cipher card when the HSM is enabled,
 * otherwise the software key at `private_key_path`. With `remote_signer_url` (a gmt0018 extension)
 * it is a client of `gmt0018 serve` instead, whatever the other keys say.
 */
export async function createSigner(source: string | SecurityConfig, opts: SignerOptions = {}): Promise<Sm2Signer> {
  const config = typeof source === 'string' ? loadSecurityConfig(source) : source;
  if (config.remoteSigner !== undefined) return createRemoteSigner(remoteSignerOptionsFromConfig(config));
  if (config.enableHsm) return HsmSigner.open(config, opts);
  return SoftwareSigner.fromKeyFile(config.privateKeyPath, opts.threads === undefined ? {} : { threads: opts.threads });
}

export { HsmSigner, SoftwareSigner };
export { SignerClosedError } from './errors';
export { createRemoteSigner, RemoteSigner, RemoteSignerError } from './remote';
export type { RemoteSignerOptions } from './remote';
export type { EndpointBackoff } from './remote-endpoints';
export type { RetryPolicy } from './recovery';
export type { SoftwareSignerOptions } from './software';
export type { Sm2Signer, SignerOptions, SignOptions, SignerBackend } from './types';
