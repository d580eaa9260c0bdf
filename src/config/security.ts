/**
 * `[security]` of a FISCO BCOS node's config.ini → SecurityConfig, following
 * SecurityConfig::loadSecurityConfig (FISCO BCOS 3.x, bcos-tool) step by step:
 *
 * 1. kms_type (default LEGACY, case-insensitive) selects the key protection. CLOUDKMS and BCOSKMS
 *    decrypt the node key through a KMS, which gmt0018 cannot do: CONFIG_UNSUPPORTED.
 * 2. Only when kms_type is LEGACY does the older spelling count: enable_hsm=true turns the HSM on.
 *    So kms_type=HSM turns the HSM on even next to an explicit enable_hsm=false (FISCO ignores
 *    enable_hsm then), and kms_type=LEGACY with enable_hsm=true is the HSM too.
 * 3. Also only under LEGACY: `[storage_security] enable=true` makes FISCO treat the node key as
 *    encrypted by the BCOS key manager, and requires `key_center_url` and `cipher_data_key` there.
 *    With the HSM on the node key comes from the card anyway; with it off gmt0018 cannot decrypt
 *    the key file: CONFIG_UNSUPPORTED.
 * 4. HSM on: hsm_lib_path (default /usr/local/lib/libgmt0018.so), key_index (required; FISCO throws
 *    without it), enc_key_index (default key_index), password (default "").
 *    HSM off: private_key_path (FISCO's default is `node.pem`, relative to the node's folder).
 *
 * Stricter than FISCO, on purpose (FISCO would silently read something else):
 * - a bad boolean (enable_hsm=TRUE / yes) or a bad enc_key_index is an error, not the default;
 * - keys the current mode does not use are still validated when present;
 * - an empty path where one is needed is an error;
 * - key_index must be ≥ 0 (FISCO reads a C int and would pass -1 on to the card).
 * And one leniency: `key_id`, the spelling of FISCO's HSM tutorial, is accepted for key_index.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isJavaSdkToml } from './config-format';
import { ConfigError, ConfigErrorCodes } from './errors';
import { parseJavaSdkConfig } from './java-sdk-config';
import { parseIni, type IniDocument, type IniSection } from './ini';
import {
  KNOWN_SECURITY_KEYS,
  readSecurityKeys,
  SECURITY_KEYS,
  SECURITY_SECTION,
  type SecurityKeyName,
  type SecurityValues,
} from './keys';
import { createSecurityConfig } from './security-config';
import type { SdfLibraryOptions } from '../sdf/library';
import type { ConfigWarning, Pkcs11Settings, RemoteSignerSettings, SecurityConfig } from './types';
import { resolveFilePath, resolveLibraryPath } from './paths';
import { parseBoolean, type ValueSite } from './values';
import { unknownKeyWarning } from './warnings';

import { DEFAULT_HSM_LIB_PATH, DEFAULT_PRIVATE_KEY_PATH } from './defaults';

export { DEFAULT_HSM_LIB_PATH, DEFAULT_PRIVATE_KEY_PATH };

export interface ParseSecurityConfigOptions {
  /**
   * Folder that relative paths resolve against: the node's working folder, i.e. the folder of its
   * config.ini. Default: the folder of `configPath` when given, else process.cwd().
   */
  baseDir?: string;
  /** The file the text came from: used in messages and returned as `configPath`. */
  configPath?: string;
}

interface BuildContext {
  file?: string;
  baseDir: string;
  invalidUtf8: boolean;
}

/**
 * Read the `[security]` section of config.ini text the way a FISCO BCOS 3.x node does (or, when
 * `configPath` ends in .toml or the text has no `[security]` but a `[cryptoMaterial]` or
 * `[account]`, a java-sdk config.toml: see parseJavaSdkConfig).
 * @throws ConfigError
 */
export function parseSecurityConfig(iniText: string, opts: ParseSecurityConfigOptions = {}): SecurityConfig {
  return fromText(iniText, opts, false);
}

/**
 * Read a node's config.ini (UTF-8) and its `[security]` section. Relative paths resolve against
 * the file's folder; `configPath` is the absolute path of the file. A java-sdk config.toml (by its
 * extension, or by its `[cryptoMaterial]` / `[account]` headers) is read by parseJavaSdkConfig,
 * with relative paths against the working directory, as the java-sdk reads them.
 * @throws ConfigError (CONFIG_FILE_UNREADABLE when the file cannot be read)
 */
export function loadSecurityConfig(iniPath: string): SecurityConfig {
  const file = path.resolve(iniPath);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError(ConfigErrorCodes.CONFIG_FILE_UNREADABLE, describeReadError(err), {
      file,
      cause: err,
    });
  }
  // ignoreBOM keeps a BOM in the text so that parseIni can report it.
  let text: string;
  let invalidUtf8 = false;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
    invalidUtf8 = true;
  }
  return fromText(text, { configPath: file }, invalidUtf8);
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return "cannot read the config file: no such file (ENOENT) (expected the path of a FISCO BCOS node's config.ini)";
    case 'EISDIR':
      return 'cannot read the config file: it is a directory (EISDIR) (expected the path of config.ini itself, e.g. node0/config.ini)';
    case 'EACCES':
    case 'EPERM':
      return `cannot read the config file: permission denied (${code}) (expected a file readable by this user)`;
    default:
      return `cannot read the config file (${code ?? 'unknown error'})`;
  }
}

/** config.ini or java-sdk config.toml text → SecurityConfig; the one place that tells them apart. */
function fromText(text: string, opts: ParseSecurityConfigOptions, invalidUtf8: boolean): SecurityConfig {
  const file = opts.configPath;
  if (isJavaSdkToml(text, file)) {
    if (invalidUtf8) {
      throw new ConfigError(ConfigErrorCodes.CONFIG_SYNTAX, 'the file is not valid UTF-8 (TOML files must be UTF-8)', {
        file,
      });
    }
    // relative paths as the java-sdk reads them: against the working directory, unless baseDir says
    return parseJavaSdkConfig(text, opts);
  }
  const baseDir = path.resolve(opts.baseDir ?? (file !== undefined ? path.dirname(path.resolve(file)) : process.cwd()));
  const doc = parseIni(text, file);
  const ctx: BuildContext = { baseDir, invalidUtf8 };
  if (file !== undefined) ctx.file = file;
  return securityConfigFromIni(doc, ctx);
}

function securityConfigFromIni(doc: IniDocument, ctx: BuildContext): SecurityConfig {
  const { file } = ctx;
  const where = (extra: ValueSite = {}): ValueSite => (file === undefined ? extra : { file, ...extra });

  const section = doc.sections.get(SECURITY_SECTION);
  if (section === undefined) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_SECTION,
      'no [security] section (expected the config.ini of a FISCO BCOS node, which has ' +
        '[security] with private_key_path, or enable_hsm / kms_type, key_index and password)',
      where(),
    );
  }

  const readCtx = file === undefined ? { invalidUtf8: ctx.invalidUtf8 } : { file, invalidUtf8: ctx.invalidUtf8 };
  const v = readSecurityKeys(section, readCtx);

  // 1. kms_type
  const kms = v.kmsType?.value ?? 'LEGACY';
  if (kms === 'CLOUDKMS' || kms === 'BCOSKMS') {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_UNSUPPORTED,
      `${kms} is not supported: the node key is then decrypted through a key management service, ` +
        'which gmt0018 cannot do (expected kms_type=HSM for a cipher card, or LEGACY for a plain key file)',
      where({ line: v.kmsType?.line, section: SECURITY_SECTION, key: v.kmsType?.key }),
    );
  }

  // 2. HSM on?
  const enableHsm = kms === 'HSM' || v.enableHsm?.value === true;

  // 3. legacy storage security (only consulted under kms_type=LEGACY, as FISCO does)
  if (kms === 'LEGACY') checkStorageSecurity(doc, enableHsm, where);

  // 4. the keys of the chosen mode
  if (enableHsm) {
    if (v.keyIndex === undefined) {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_MISSING_KEY,
        'missing: the HSM is on (' +
          (kms === 'HSM' ? 'kms_type=HSM' : 'enable_hsm=true') +
          ") but no key index is set (expected key_index=N, or key_id=N as FISCO's HSM tutorial " +
          'spells it, with N the index of the SM2 sign key inside the cipher card)',
        where({ section: SECURITY_SECTION, key: 'key_index' }),
      );
    }
    if (v.hsmLibPath !== undefined && v.hsmLibPath.value === '') {
      throw emptyPath(
        v.hsmLibPath,
        'the SDF library of the cipher card, e.g. hsm_lib_path=/usr/local/lib/libgmt0018.so',
        where,
      );
    }
  } else if (v.privateKeyPath !== undefined && v.privateKeyPath.value === '') {
    throw emptyPath(v.privateKeyPath, 'the node key file, e.g. private_key_path=conf/node.pem', where);
  }

  const keyIndex = v.keyIndex?.value;
  const pkcs11 = pkcs11FromKeys(v, ctx.baseDir, enableHsm, where);
  const fields: SecurityConfig = {
    enableHsm,
    hsmLibPath: resolveLibraryPath(v.hsmLibPath?.value ?? DEFAULT_HSM_LIB_PATH, ctx.baseDir),
    // the secret that unlocks the key: the card's access password, or the token's user PIN
    password: (pkcs11 ? v.pkcs11Pin?.value : undefined) ?? v.password?.value ?? '',
    privateKeyPath: resolveFilePath(v.privateKeyPath?.value ?? DEFAULT_PRIVATE_KEY_PATH, ctx.baseDir),
  };
  if (keyIndex !== undefined) fields.keyIndex = keyIndex;
  const encKeyIndex = v.encKeyIndex?.value ?? keyIndex;
  if (encKeyIndex !== undefined) fields.encKeyIndex = encKeyIndex;
  if (file !== undefined) fields.configPath = file;
  const hsmLibrary = hsmLibraryFromKeys(v, ctx.baseDir);
  if (hsmLibrary !== undefined) fields.hsmLibrary = hsmLibrary;
  if (v.hsmVerifySignatures !== undefined) fields.hsmVerifySignatures = v.hsmVerifySignatures.value;
  if (v.hsmSignThreads !== undefined) fields.hsmSignThreads = v.hsmSignThreads.value;
  const remoteSigner = remoteSignerFromKeys(v, ctx.baseDir, where);
  if (remoteSigner !== undefined) fields.remoteSigner = remoteSigner;
  if (pkcs11 !== undefined) {
    if (remoteSigner !== undefined) throw conflict(v.pkcs11Library, 'remote_signer_url', where);
    fields.pkcs11 = pkcs11;
  }
  const warnings = unknownSecurityKeys(section, file);
  if (warnings.length > 0) fields.warnings = warnings;
  return createSecurityConfig(fields);
}

/** A warning for each key of `[security]` that neither FISCO BCOS nor gmt0018 reads, in file order. */
function unknownSecurityKeys(section: IniSection, file: string | undefined): ConfigWarning[] {
  return [...section.entries.values()]
    .filter((entry) => !KNOWN_SECURITY_KEYS.includes(entry.key))
    .map((entry) =>
      unknownKeyWarning(
        SECURITY_SECTION,
        entry.key,
        KNOWN_SECURITY_KEYS,
        file === undefined ? { line: entry.line } : { file, line: entry.line },
      ),
    );
}

function conflict(
  found: { key: string; line: number } | undefined,
  other: string,
  where: (extra?: ValueSite) => ValueSite,
): ConfigError {
  return new ConfigError(
    ConfigErrorCodes.CONFIG_CONFLICT,
    `${found?.key ?? 'pkcs11_library'} and ${other} select two different signers (expected one of them)`,
    where({ line: found?.line, section: SECURITY_SECTION, key: found?.key }),
  );
}

/** The pkcs11_* keys that mean nothing without pkcs11_library. */
const PKCS11_KEYS = (Object.keys(SECURITY_KEYS) as SecurityKeyName[]).filter(
  (name) => name.startsWith('pkcs11') && name !== 'pkcs11Library',
);

/** The PKCS#11 key (gmt0018 extension), or undefined when pkcs11_library is absent. */
function pkcs11FromKeys(
  v: SecurityValues,
  baseDir: string,
  enableHsm: boolean,
  where: (extra?: ValueSite) => ValueSite,
): Pkcs11Settings | undefined {
  const library = v.pkcs11Library;
  if (library === undefined) {
    const stray = PKCS11_KEYS.map((name) => v[name]).find((found) => found !== undefined);
    if (stray === undefined) return undefined;
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_KEY,
      `missing: ${stray.key} is set but pkcs11_library is not (expected the path of the PKCS#11 module)`,
      where({ line: stray.line, section: SECURITY_SECTION, key: 'pkcs11_library' }),
    );
  }
  if (library.value === '') throw emptyPath(library, 'the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so', where);
  if (enableHsm) throw conflict(library, 'enable_hsm=true / kms_type=HSM', where);
  const onlyOne = (a: keyof SecurityValues, b: keyof SecurityValues, what: string) => {
    const [first, second] = [v[a], v[b]];
    if (first !== undefined && second !== undefined) {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_CONFLICT,
        `${first.key} and ${second.key} are both set (expected one of them)`,
        where({ line: second.line, section: SECURITY_SECTION, key: second.key }),
      );
    }
    if (what !== '' && first === undefined && second === undefined) {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_MISSING_KEY,
        `missing: pkcs11_library is set but no ${what}`,
        where({ section: SECURITY_SECTION, key: String(SECURITY_KEYS[a].names[0]) }),
      );
    }
  };
  onlyOne('pkcs11TokenLabel', 'pkcs11Slot', 'token is named (expected pkcs11_token_label=LABEL or pkcs11_slot=N)');
  onlyOne('pkcs11Pin', 'pkcs11PinFile', '');
  // pkcs11_sign_threads=0 is the pool, beside which pkcs11_sessions is its size
  if (v.pkcs11SignThreads?.value !== 0) onlyOne('pkcs11Sessions', 'pkcs11SignThreads', '');
  if (v.pkcs11KeyLabel === undefined && v.pkcs11KeyId === undefined) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_KEY,
      'missing: pkcs11_library is set but no key is named (expected pkcs11_key_label=LABEL and/or pkcs11_key_id=HEX)',
      where({ section: SECURITY_SECTION, key: 'pkcs11_key_label' }),
    );
  }
  const out: Pkcs11Settings = { library: resolveLibraryPath(library.value, baseDir) };
  if (v.pkcs11TokenLabel !== undefined) out.tokenLabel = v.pkcs11TokenLabel.value;
  if (v.pkcs11Slot !== undefined) out.slot = v.pkcs11Slot.value;
  if (v.pkcs11PinFile !== undefined) out.pinFile = resolveFilePath(v.pkcs11PinFile.value, baseDir);
  if (v.pkcs11KeyLabel !== undefined) out.keyLabel = v.pkcs11KeyLabel.value;
  if (v.pkcs11KeyId !== undefined) out.keyId = v.pkcs11KeyId.value;
  if (v.pkcs11Sessions !== undefined) out.sessions = v.pkcs11Sessions.value;
  if (v.pkcs11SignThreads !== undefined) out.signThreads = v.pkcs11SignThreads.value;
  if (v.pkcs11Preload !== undefined) out.preload = v.pkcs11Preload.value.map((p) => resolveLibraryPath(p, baseDir));
  if (v.pkcs11Profile !== undefined) out.profile = v.pkcs11Profile.value;
  if (v.pkcs11Sm2Mechanism !== undefined) out.sm2Mechanism = v.pkcs11Sm2Mechanism.value;
  if (v.pkcs11SignatureFormat !== undefined) out.signatureFormat = v.pkcs11SignatureFormat.value;
  if (v.pkcs11CallTimeoutMs !== undefined) out.callTimeoutMs = v.pkcs11CallTimeoutMs.value;
  return out;
}

function emptyPath(
  found: { key: string; line: number },
  expected: string,
  where: (extra?: ValueSite) => ValueSite,
): ConfigError {
  return new ConfigError(
    ConfigErrorCodes.CONFIG_BAD_VALUE,
    `is empty (expected the path of ${expected})`,
    where({ line: found.line, section: SECURITY_SECTION, key: found.key }),
  );
}

const STORAGE_SECURITY_SECTION = 'storage_security';

function checkStorageSecurity(doc: IniDocument, enableHsm: boolean, where: (extra?: ValueSite) => ValueSite): void {
  const section = doc.sections.get(STORAGE_SECURITY_SECTION);
  const enable = section?.entries.get('enable');
  if (section === undefined || enable === undefined) return;
  const on = parseBoolean(
    enable.value,
    where({ line: enable.line, section: STORAGE_SECURITY_SECTION, key: enable.key }),
  );
  if (!on) return;
  for (const key of ['key_center_url', 'cipher_data_key']) {
    const entry = section.entries.get(key);
    if (entry === undefined || entry.value === '') {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_MISSING_KEY,
        `${entry === undefined ? 'missing' : 'empty'}: [storage_security] enable=true needs ` +
          'key_center_url and cipher_data_key (FISCO BCOS refuses to start without them)',
        where({ line: entry?.line, section: STORAGE_SECURITY_SECTION, key }),
      );
    }
  }
  if (!enableHsm) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_UNSUPPORTED,
      'disk encryption is on with the HSM off: FISCO BCOS then keeps the node key file encrypted ' +
        'by the BCOS key manager, which gmt0018 cannot decrypt (expected enable_hsm=true with the ' +
        'key in the cipher card, or [storage_security] enable=false)',
      where({ line: enable.line, section: STORAGE_SECURITY_SECTION, key: enable.key }),
    );
  }
}

/** The vendor-library extension keys, or undefined when none is set. */
function hsmLibraryFromKeys(v: SecurityValues, baseDir: string): SdfLibraryOptions | undefined {
  const out: SdfLibraryOptions = {};
  if (v.hsmProfile !== undefined) out.profile = v.hsmProfile.value;
  if (v.hsmEccFieldBytes !== undefined) out.eccFieldBytes = v.hsmEccFieldBytes.value;
  if (v.hsmSignWithAlgId !== undefined) out.internalSignWithAlgId = v.hsmSignWithAlgId.value;
  if (v.hsmSymbols !== undefined) out.symbols = v.hsmSymbols.value;
  if (v.hsmPreload !== undefined) out.preload = v.hsmPreload.value.map((p) => resolveLibraryPath(p, baseDir));
  if (v.hsmThreadModel !== undefined) out.threadModel = v.hsmThreadModel.value;
  if (v.hsmCallTimeoutMs !== undefined) out.callTimeoutMs = v.hsmCallTimeoutMs.value;
  if (v.hsmKekAlgorithm !== undefined) out.kekAlgorithm = v.hsmKekAlgorithm.value;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The remote signing service (gmt0018 extension), or undefined when remote_signer_url is absent. */
function remoteSignerFromKeys(
  v: SecurityValues,
  baseDir: string,
  where: (extra?: ValueSite) => ValueSite,
): RemoteSignerSettings | undefined {
  const tokenFile = v.remoteSignerTokenFile;
  if (v.remoteSignerUrl === undefined) {
    if (tokenFile === undefined) return undefined;
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_KEY,
      'missing: remote_signer_token_file is set but remote_signer_url is not (expected the URL of gmt0018 serve)',
      where({ line: tokenFile.line, section: SECURITY_SECTION, key: 'remote_signer_url' }),
    );
  }
  if (tokenFile !== undefined && tokenFile.value === '') {
    throw emptyPath(tokenFile, 'the file holding the bearer token of the signing service', where);
  }
  const out: RemoteSignerSettings = { urls: v.remoteSignerUrl.value };
  if (tokenFile !== undefined) out.tokenFile = resolveFilePath(tokenFile.value, baseDir);
  return out;
}
