import { loadSecurityConfig, type SecurityConfig } from '../config';
import { HsmSigner } from './hsm';
import { SoftwareSigner } from './software';
import type { Sm2Signer, SignerOptions } from './types';

/**
 * The signer a node's `[security]` section asks for: the cipher card when the HSM is enabled,
 * otherwise the software key at `private_key_path`.
 */
export async function createSigner(source: string | SecurityConfig, opts: SignerOptions = {}): Promise<Sm2Signer> {
  const config = typeof source === 'string' ? loadSecurityConfig(source) : source;
  if (config.enableHsm) return HsmSigner.open(config, opts);
  return SoftwareSigner.fromKeyFile(config.privateKeyPath);
}

export { HsmSigner, SoftwareSigner };
export { SignerClosedError } from './errors';
export type { Sm2Signer, SignerOptions, SignOptions, SignerBackend } from './types';
