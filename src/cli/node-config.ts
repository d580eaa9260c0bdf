/** Loading a node's config.ini for a command: its warnings, and with --verbose the backend it chose. */
import { loadSecurityConfig, type SecurityConfig } from '../config';
import { backendOf, createSigner, type Signer, type SignerBackend, type SignerOptions } from '../signer';
import type { Output } from './command';

/** Each of the config's warnings on stderr: `warning: …`, or `{"warning":{…}}` with --json. */
export function printConfigWarnings(config: SecurityConfig, out: Output): void {
  for (const warning of config.warnings ?? []) out.notice(`warning: ${warning.message}`, { warning: { ...warning } });
}

/** The [security] section of `path`, its warnings printed. */
export function loadNodeConfig(path: string, out: Output): SecurityConfig {
  const config = loadSecurityConfig(path);
  printConfigWarnings(config, out);
  return config;
}

/** A URL without user name or password, which a URL may carry. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

export interface BackendChoice {
  backend: SignerBackend;
  /** Where the key is: library and key index, key file, module and token, or service URLs. */
  where: Record<string, string | number | readonly string[]>;
}

/** Which backend `config` selects and where its key is; never a password, PIN or token. */
export function backendChoice(config: SecurityConfig, opts: SignerOptions = {}): BackendChoice {
  const backend = backendOf(config, opts);
  if (backend === 'remote')
    return { backend, where: { urls: (config.remoteSigner?.urls ?? []).map(withoutCredentials) } };
  if (backend === 'pkcs11') {
    const p11 = { ...config.pkcs11, ...opts.pkcs11 };
    const where: BackendChoice['where'] = { library: p11.library ?? '' };
    if (p11.tokenLabel !== undefined) where.tokenLabel = p11.tokenLabel;
    if (p11.slot !== undefined) where.slot = p11.slot;
    if (p11.keyLabel !== undefined) where.keyLabel = p11.keyLabel;
    if (p11.keyId !== undefined) where.keyId = p11.keyId;
    return { backend, where };
  }
  if (backend === 'hsm') return { backend, where: { library: config.hsmLibPath, keyIndex: config.keyIndex ?? '?' } };
  return { backend, where: { keyFile: config.privateKeyPath } };
}

const LABELS: Record<string, string> = {
  keyIndex: 'key_index',
  tokenLabel: 'token',
  keyLabel: 'key label',
  keyId: 'key id',
};

/** `hsm (/usr/lib/libsdf.so, key_index 1)`, `software (/node/conf/node.pem)`. */
export function describeBackend(choice: BackendChoice): string {
  const parts = Object.entries(choice.where).map(([name, value]) => {
    if (Array.isArray(value)) return value.join(', ');
    if (name === 'library' || name === 'keyFile') return String(value);
    return `${LABELS[name] ?? name} ${typeof value === 'string' ? JSON.stringify(value) : value}`;
  });
  return `${choice.backend} (${parts.join(', ')})`;
}

/** Prints the backend line of --verbose. */
function announceBackend(config: SecurityConfig, out: Output, opts: SignerOptions = {}): void {
  const choice = backendChoice(config, opts);
  out.notice(`backend: ${describeBackend(choice)}`, { backend: { name: choice.backend, ...choice.where } });
}

/** The config at `values.config`: its warnings printed, then with --verbose the backend it chose. */
export function loadCommandConfig(
  values: { config: string; verbose?: boolean },
  out: Output,
  opts: SignerOptions = {},
): SecurityConfig {
  const config = loadNodeConfig(values.config, out);
  if (values.verbose === true) announceBackend(config, out, opts);
  return config;
}

/** The signer of the config at `values.config` (see loadCommandConfig). */
export async function openSigner(
  values: { config: string; verbose?: boolean },
  out: Output,
  opts: SignerOptions = {},
): Promise<Signer> {
  return createSigner(loadCommandConfig(values, out, opts), opts);
}
