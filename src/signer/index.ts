import { createSecurityConfig, loadSecurityConfig, type SecurityConfig, type SecurityConfigInput } from '../config';
import { HsmSigner } from './hsm';
import { Pkcs11Signer } from './pkcs11';
import { SoftwareSigner } from './software';
import { createRemoteSigner, remoteSignerOptionsFromConfig } from './remote';
import type { Signer, SignerBackend, SignerOptions } from './types';

/** Which backend a config (and the options) select. */
export function backendOf(config: SecurityConfig, opts: SignerOptions = {}): SignerBackend {
  if (config.remoteSigner !== undefined) return 'remote';
  if (config.pkcs11 !== undefined || opts.pkcs11?.library !== undefined) return 'pkcs11';
  return config.enableHsm ? 'hsm' : 'software';
}

/**
 * A SecurityConfig as it is when it already is one (so a hand-made config keeps working exactly as
 * before); an HsmConfigInput or SoftwareConfigInput gets its defaults from createSecurityConfig.
 */
function completeConfig(input: SecurityConfigInput): SecurityConfig {
  const fields = input as Partial<SecurityConfig>;
  const complete =
    typeof fields.enableHsm === 'boolean' &&
    typeof fields.hsmLibPath === 'string' &&
    typeof fields.privateKeyPath === 'string' &&
    typeof fields.password === 'string';
  return complete ? (input as SecurityConfig) : createSecurityConfig(input);
}

/**
 * The signer a node's `[security]` section asks for: the cipher card when the HSM is enabled, a
 * PKCS#11 key with pkcs11_library, otherwise the software key at `private_key_path`. With
 * `remote_signer_url` (a gmt0018 extension) it is a client of `gmt0018 serve` instead. `source` is
 * the path of a config.ini (or a java-sdk config.toml), a SecurityConfig, or a plain HsmConfigInput
 * / SoftwareConfigInput such as `{ enableHsm: true, keyIndex: 1, hsmLibPath: '/path/libsdf.so' }`.
 * `opts.backend` refuses any other backend than the one named.
 */
export async function createSigner(source: string | SecurityConfigInput, opts: SignerOptions = {}): Promise<Signer> {
  const config = typeof source === 'string' ? loadSecurityConfig(source) : completeConfig(source);
  const backend = backendOf(config, opts);
  if (opts.backend !== undefined && opts.backend !== backend) {
    throw new RangeError(
      `the configuration${config.configPath ? ` in ${config.configPath}` : ''} selects the ${backend} backend, ` +
        `not ${opts.backend}`,
    );
  }
  if (backend === 'remote') return createRemoteSigner(remoteSignerOptionsFromConfig(config));
  if (backend === 'pkcs11') {
    const settings = { ...config.pkcs11, ...opts.pkcs11 } as Parameters<typeof Pkcs11Signer.open>[0];
    if (opts.pkcs11?.pin === undefined && settings.pinFile === undefined) settings.pin = config.password;
    return Pkcs11Signer.open(settings, opts);
  }
  if (backend === 'hsm') return HsmSigner.open(config, opts);
  return SoftwareSigner.fromKeyFile(config.privateKeyPath, opts.threads === undefined ? {} : { threads: opts.threads });
}

export { HsmSigner, Pkcs11Signer, SoftwareSigner };
export { SignerClosedError } from './errors';
export { createRemoteSigner, RemoteSigner, RemoteSignerError } from './remote';
export type { RemoteSignerOptions } from './remote';
export type { EndpointBackoff } from './remote-endpoints';
export type { RetryPolicy } from './recovery';
export type { SoftwareSignerOptions } from './software';
export type { Signer, Sm2Signer, SignerOptions, SignOptions, SignerBackend, SignerAlgorithm } from './types';
export type { EcdsaHash } from './algorithms';
export type { Pkcs11SignerSettings } from './pkcs11';
