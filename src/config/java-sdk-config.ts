/**
 * A FISCO BCOS java-sdk `config.toml` → SecurityConfig, following the java-sdk 3.x
 * (CryptoMaterialConfig, AccountConfig, CryptoSuite):
 *
 * - Every value of [cryptoMaterial] and [account] is read as a Java String, so it must be a quoted
 *   TOML string (`enableHsm = "true"`); the java-sdk fails on a bare `true` or `1`.
 * - enableHsm = "true": hsmLibPath, hsmKeyIndex and hsmPassword must all be set (the java-sdk
 *   refuses the file otherwise); the key is the card's internal key at hsmKeyIndex.
 * - Otherwise the key is the [account] file: accountFilePath, or, when that is empty,
 *   keyStoreDir (default "account") / gm / accountAddress + ".pem" (".p12" for accountFileFormat
 *   p12). Without either the java-sdk makes a new random key each run; gmt0018 refuses that.
 * - Relative paths are relative to the working directory, as the java-sdk's `new File(path)`
 *   reads them (its fallback, a classpath resource, has no equivalent here).
 *
 * Refused, each with a ConfigError naming the key: useSMCrypto false (ECDSA secp256k1: the
 * software signer is SM2 only), p12 account files (PKCS#12 is not read), and an account file next
 * to enableHsm (the java-sdk would then sign with the file's key through the card library).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, ConfigErrorCodes, type ConfigErrorLocation } from './errors';
import {
  ACCOUNT,
  ACCOUNT_KEYS,
  CRYPTO_MATERIAL,
  CRYPTO_MATERIAL_KEYS,
  DEFAULT_ACCOUNT_FILE_FORMAT,
  DEFAULT_KEY_STORE_DIR,
  JAVA_SDK_SECTIONS,
  SM2_ACCOUNT_SUBDIR,
} from './java-sdk-keys';
import { resolveFilePath, resolveLibraryPath } from './paths';
import { createSecurityConfig } from './security-config';
import { parseTomlDocument, type TomlDocument, type TomlTable } from './toml-document';
import type { ConfigWarning, SecurityConfig } from './types';
import { INT_MAX, showValue } from './values';
import { unknownKeyWarning } from './warnings';

export interface JavaSdkConfigOptions {
  /** The file the text came from: used in messages and returned as `configPath`. */
  configPath?: string;
  /** Folder that relative paths resolve against. Default: process.cwd(), as the java-sdk does. */
  baseDir?: string;
}

/** Keys whose value is never shown. */
const SECRET_KEYS = new Set(['hsmPassword', 'password']);

/** One table of the file, with what messages need to say where a key is. */
class Table {
  constructor(
    readonly name: string,
    readonly values: TomlTable,
    private readonly doc: TomlDocument,
    private readonly file: string | undefined,
  ) {}

  where(key?: string): ConfigErrorLocation {
    const line = key === undefined ? undefined : this.doc.keyLine(this.name, key);
    const out: ConfigErrorLocation = { section: this.name };
    if (key !== undefined) out.key = key;
    if (this.file !== undefined) out.file = this.file;
    const at = line ?? this.doc.tableLine(this.name);
    if (at !== undefined) out.line = at;
    return out;
  }

  /** The string value of `key`, or undefined when absent. */
  text(key: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_VALUE,
      `is a TOML ${tomlType(value)}, not a string (expected quotes, e.g. ${key} = "…": the java-sdk ` +
        `reads every value of [${this.name}] as a string and fails on anything else)`,
      this.where(key),
    );
  }

  /** A java-sdk boolean: "true" or "false" (any case, as Boolean.valueOf reads it). */
  flag(key: string): boolean | undefined {
    const raw = this.text(key);
    if (raw === undefined) return undefined;
    const folded = raw.toLowerCase();
    if (folded === 'true' || folded === 'false') return folded === 'true';
    // Boolean.valueOf reads anything else as false: a typo would silently turn the setting off
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_BOOLEAN,
      `${showValue(raw, this.site(key))} is not a boolean (expected "true" or "false")`,
      this.where(key),
    );
  }

  private site(key: string) {
    return { ...this.where(key), secret: SECRET_KEYS.has(key) };
  }
}

function tomlType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (typeof value === 'object' && value !== null) return 'table';
  return typeof value === 'bigint' ? 'number' : typeof value;
}

function table(doc: TomlDocument, name: string, file: string | undefined): Table {
  const values = doc.root[name];
  const where: ConfigErrorLocation = file === undefined ? { section: name } : { file, section: name };
  if (values === undefined) return new Table(name, {}, doc, file);
  if (typeof values !== 'object' || values === null || Array.isArray(values) || values instanceof Date) {
    throw new ConfigError(ConfigErrorCodes.CONFIG_BAD_VALUE, `is a TOML ${tomlType(values)}, not a table`, where);
  }
  return new Table(name, values as TomlTable, doc, file);
}

/**
 * Read a java-sdk config.toml (its text) into the SecurityConfig of the account it signs with.
 * @throws ConfigError
 */
export function parseJavaSdkConfig(text: string, opts: JavaSdkConfigOptions = {}): SecurityConfig {
  const file = opts.configPath;
  const baseDir = path.resolve(opts.baseDir ?? process.cwd());
  const doc = parseTomlDocument(text, file);
  const crypto = table(doc, CRYPTO_MATERIAL, file);
  const account = table(doc, ACCOUNT, file);
  const warnings = unknownJavaSdkKeys(doc, [crypto, account], file);

  const enableHsm = crypto.flag('enableHsm') ?? false;
  checkSmCrypto(crypto, enableHsm);
  const common = {
    ...(file === undefined ? {} : { configPath: file }),
    ...(warnings.length === 0 ? {} : { warnings }),
  };
  if (enableHsm) {
    const card = cardKey(crypto, account, baseDir);
    return createSecurityConfig({ enableHsm: true, ...card, ...common });
  }
  return createSecurityConfig({ privateKeyPath: accountFile(account, baseDir), ...common });
}

/** useSMCrypto = "false" (also the java-sdk's default) means ECDSA secp256k1 keys. */
function checkSmCrypto(crypto: Table, enableHsm: boolean): void {
  const useSm = crypto.flag('useSMCrypto');
  // a cipher card holds SM2 keys only, so an HSM config without useSMCrypto is still SM2
  if (useSm === true || (useSm === undefined && enableHsm)) return;
  const what = useSm === false ? 'is "false"' : 'is not set, which the java-sdk reads as "false"';
  throw new ConfigError(
    ConfigErrorCodes.CONFIG_UNSUPPORTED,
    `${what}: the account is then an ECDSA (secp256k1) key of a non-SM chain, and gmt0018 signs ` +
      'with SM2 only (expected useSMCrypto = "true" with an SM2 account, or enableHsm = "true")',
    crypto.where('useSMCrypto'),
  );
}

function cardKey(
  crypto: Table,
  account: Table,
  baseDir: string,
): { keyIndex: number; hsmLibPath: string; password: string } {
  const libPath = crypto.text('hsmLibPath');
  const keyIndex = crypto.text('hsmKeyIndex');
  const password = crypto.text('hsmPassword');
  if (libPath === undefined || keyIndex === undefined || password === undefined) {
    const missing = libPath === undefined ? 'hsmLibPath' : keyIndex === undefined ? 'hsmKeyIndex' : 'hsmPassword';
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_KEY,
      `missing: enableHsm is "true" but ${missing} is not set (the java-sdk requires hsmLibPath, ` +
        'hsmKeyIndex and hsmPassword together in HSM mode; hsmPassword may be "")',
      { ...crypto.where(), key: missing },
    );
  }
  if (libPath === '') {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_VALUE,
      'is empty (expected the path of the SDF library of the cipher card, e.g. "/usr/local/lib/libswsds.so")',
      crypto.where('hsmLibPath'),
    );
  }
  checkNoAccountFile(account);
  return {
    keyIndex: cardKeyIndex(keyIndex, crypto),
    hsmLibPath: resolveLibraryPath(libPath, baseDir),
    password,
  };
}

/** The java-sdk's Integer.parseInt, but digits only, and at least 1: card key indexes start at 1. */
function cardKeyIndex(raw: string, crypto: Table): number {
  const where = crypto.where('hsmKeyIndex');
  if (!/^[0-9]+$/.test(raw)) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_INTEGER,
      `${showValue(raw, where)} is not a key index (expected decimal digits, e.g. hsmKeyIndex = "1")`,
      where,
    );
  }
  const value = Number(raw);
  if (value < 1 || value > INT_MAX) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_OUT_OF_RANGE,
      `${value > INT_MAX ? 'is too large' : 'is 0'} (expected 1..${INT_MAX}: the index of the SM2 sign key ` +
        'inside the cipher card, which starts at 1)',
      where,
    );
  }
  return value;
}

/** With the HSM on, an account file would be signed with through the card library: not served. */
function checkNoAccountFile(account: Table): void {
  const format = account.text('accountFileFormat');
  if (format !== undefined && format.toLowerCase() === 'hsm') return;
  for (const key of ['accountFilePath', 'accountAddress']) {
    if ((account.text(key) ?? '') === '') continue;
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_UNSUPPORTED,
      'names an account file while enableHsm is "true": the java-sdk then signs with that file\'s key ' +
        "through the card's library, gmt0018 signs only with the card's internal key at hsmKeyIndex " +
        `(expected no ${key} with the HSM on, or enableHsm = "false")`,
      account.where(key),
    );
  }
}

/** The PEM file of the software account, absolute. */
function accountFile(account: Table, baseDir: string): string {
  const formatRaw = account.text('accountFileFormat') ?? DEFAULT_ACCOUNT_FILE_FORMAT;
  const format = formatRaw.toLowerCase();
  if (format !== 'pem' && format !== 'p12') {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_VALUE,
      `${showValue(formatRaw, account.where('accountFileFormat'))} is not an account file format (expected "pem" or "p12")`,
      account.where('accountFileFormat'),
    );
  }
  const filePath = account.text('accountFilePath') ?? '';
  const address = account.text('accountAddress') ?? '';
  let key: string;
  let file: string;
  if (filePath !== '') {
    key = 'accountFilePath';
    file = filePath;
  } else if (address !== '') {
    key = 'accountAddress';
    const dir = account.text('keyStoreDir') ?? DEFAULT_KEY_STORE_DIR;
    file = `${dir}/${SM2_ACCOUNT_SUBDIR}/${address}.${format}`;
  } else {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_MISSING_KEY,
      'missing: no account file is named (expected accountFilePath = "conf/account.pem", or ' +
        'accountAddress with the file at keyStoreDir/gm/<address>.pem; without them the java-sdk ' +
        'signs with a new random key, which gmt0018 does not)',
      { ...account.where(), key: 'accountFilePath' },
    );
  }
  const resolved = resolveFilePath(file, baseDir);
  if (format === 'p12') {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_UNSUPPORTED,
      `the account file ${resolved} is PKCS#12 (accountFileFormat "p12"), which gmt0018 cannot read ` +
        '(expected the same key exported as a PEM file, with accountFileFormat = "pem")',
      { ...account.where('accountFileFormat'), key: 'accountFileFormat' },
    );
  }
  if (!existsSync(resolved)) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_KEY_FILE,
      `the account file ${resolved} does not exist (relative paths are resolved against the ` +
        `working directory ${baseDir}, as the java-sdk does)`,
      account.where(key),
    );
  }
  return resolved;
}

/** Warnings for unknown top-level tables and for unknown keys of [cryptoMaterial] and [account]. */
function unknownJavaSdkKeys(doc: TomlDocument, tables: Table[], file: string | undefined): ConfigWarning[] {
  const at = (line: number | undefined) => ({
    ...(file === undefined ? {} : { file }),
    ...(line === undefined ? {} : { line }),
  });
  const warnings = Object.keys(doc.root)
    .filter((name) => !JAVA_SDK_SECTIONS.includes(name))
    .map((name) => unknownKeyWarning('', name, JAVA_SDK_SECTIONS, at(doc.tableLine(name) ?? doc.keyLine('', name))));
  for (const t of tables) {
    const known = t.name === CRYPTO_MATERIAL ? CRYPTO_MATERIAL_KEYS : ACCOUNT_KEYS;
    for (const key of Object.keys(t.values)) {
      if (!known.includes(key)) warnings.push(unknownKeyWarning(t.name, key, known, at(doc.keyLine(t.name, key))));
    }
  }
  return warnings;
}
