/**
 * The keys of `[security]` that gmt0018 reads: one table entry per key.
 *
 * Each entry names the key as written in config.ini (plus accepted aliases), says whether its value
 * is secret, and parses the raw text. readSecurityKeys validates every listed key that is present,
 * whether or not the current mode needs it (a typo is a typo), refuses two spellings of one key at
 * once, and never shows a secret value. A new key (e.g. a gmt0018 extension) is a new entry here
 * plus its use in security.ts.
 */
import { ConfigError, ConfigErrorCodes } from './errors';
import type { IniEntry, IniSection } from './ini';
import {
  parseCallTimeoutMs,
  parseSignThreads,
  parseEccFieldBytes,
  parseHsmPreload,
  parseHsmProfile,
  parseHsmSymbols,
  parseKekAlgorithm,
  parseThreadModel,
} from './hsm-library-keys';
import { parseHexId, parseMechanism, parsePkcs11Profile, parseSessionCount, parseSignatureFormat } from './pkcs11-keys';
import { parseRemoteSignerUrls } from './remote-signer-keys';
import { INT_MAX, parseBoolean, parseUnsignedInt, showValue, type ValueSite } from './values';

export const SECURITY_SECTION = 'security';

/** Values of `kms_type` FISCO BCOS knows (bcos::security::KeyEncryptionType). */
export type KmsType = 'LEGACY' | 'HSM' | 'CLOUDKMS' | 'BCOSKMS';
const KMS_TYPES: readonly KmsType[] = ['LEGACY', 'HSM', 'CLOUDKMS', 'BCOSKMS'];

export interface KeySpec<T> {
  /** The key as written in config.ini first, then accepted aliases. */
  readonly names: readonly [string, ...string[]];
  /** Never show the value in a message. */
  readonly secret?: boolean;
  readonly parse: (raw: string, site: ValueSite) => T;
}

function text(raw: string): string {
  return raw;
}

/** FISCO reads key_index / enc_key_index as a C `int`; an SDF key index is an `unsigned int`. */
function keyIndex(raw: string, site: ValueSite): number {
  return parseUnsignedInt(raw, site, {
    max: INT_MAX,
    maxReason: 'FISCO BCOS reads it as a C int',
  });
}

/**
 * FISCO parses kms_type with magic_enum's case_insensitive compare (ASCII case folding), so
 * `hsm` and `Hsm` are HSM. Unknown values make the node stop ("Please set kms_type to LEGACY!").
 */
function kmsType(raw: string, site: ValueSite): KmsType {
  const folded = raw.replace(/[a-z]/g, (c) => c.toUpperCase());
  const found = KMS_TYPES.find((t) => t === folded);
  if (found !== undefined) return found;
  const inlineComment = /\s[;#]/.test(raw)
    ? '; note that FISCO BCOS has no inline comments, everything after "=" is the value'
    : '';
  const what = raw === '' ? 'is empty' : `${showValue(raw, site)} is not a known kms_type`;
  throw new ConfigError(
    ConfigErrorCodes.CONFIG_BAD_VALUE,
    `${what} (expected LEGACY or HSM, case-insensitive${inlineComment})`,
    site,
  );
}

export const SECURITY_KEYS = {
  privateKeyPath: { names: ['private_key_path'], parse: text },
  kmsType: { names: ['kms_type'], parse: kmsType },
  enableHsm: { names: ['enable_hsm'], parse: parseBoolean },
  hsmLibPath: { names: ['hsm_lib_path'], parse: text },
  // FISCO's code reads key_index; its HSM tutorial prints key_id. Both are accepted, not both at once.
  keyIndex: { names: ['key_index', 'key_id'], parse: keyIndex },
  encKeyIndex: { names: ['enc_key_index'], parse: keyIndex },
  password: { names: ['password'], secret: true, parse: text },
  // gmt0018 extensions for vendor SDF libraries (FISCO ignores them)
  hsmProfile: { names: ['hsm_profile'], parse: parseHsmProfile },
  hsmEccFieldBytes: { names: ['hsm_ecc_field_bytes'], parse: parseEccFieldBytes },
  hsmSignWithAlgId: { names: ['hsm_sign_with_alg_id'], parse: parseBoolean },
  hsmSymbols: { names: ['hsm_symbols'], parse: parseHsmSymbols },
  hsmPreload: { names: ['hsm_preload'], parse: parseHsmPreload },
  hsmThreadModel: { names: ['hsm_thread_model'], parse: parseThreadModel },
  hsmCallTimeoutMs: { names: ['hsm_call_timeout_ms'], parse: parseCallTimeoutMs },
  hsmKekAlgorithm: { names: ['hsm_kek_algorithm'], parse: parseKekAlgorithm },
  hsmVerifySignatures: { names: ['hsm_verify_signatures'], parse: parseBoolean },
  hsmSignThreads: { names: ['hsm_sign_threads'], parse: parseSignThreads },
  // gmt0018 extensions: a key in a PKCS#11 HSM (FISCO ignores them)
  pkcs11Library: { names: ['pkcs11_library'], parse: text },
  pkcs11TokenLabel: { names: ['pkcs11_token_label'], parse: text },
  pkcs11Slot: { names: ['pkcs11_slot'], parse: (raw: string, site: ValueSite) => parseUnsignedInt(raw, site) },
  pkcs11Pin: { names: ['pkcs11_pin'], secret: true, parse: text },
  pkcs11PinFile: { names: ['pkcs11_pin_file'], parse: text },
  pkcs11KeyLabel: { names: ['pkcs11_key_label'], parse: text },
  pkcs11KeyId: { names: ['pkcs11_key_id'], parse: parseHexId },
  pkcs11Sessions: { names: ['pkcs11_sessions'], parse: parseSessionCount },
  pkcs11SignThreads: { names: ['pkcs11_sign_threads'], parse: parseSignThreads },
  pkcs11Preload: { names: ['pkcs11_preload'], parse: parseHsmPreload },
  pkcs11Profile: { names: ['pkcs11_profile'], parse: parsePkcs11Profile },
  pkcs11Sm2Mechanism: { names: ['pkcs11_sm2_mechanism'], parse: parseMechanism },
  pkcs11SignatureFormat: { names: ['pkcs11_signature_format'], parse: parseSignatureFormat },
  pkcs11CallTimeoutMs: { names: ['pkcs11_call_timeout_ms'], parse: parseCallTimeoutMs },
  // gmt0018 extensions: sign through `gmt0018 serve` (FISCO ignores them)
  remoteSignerUrl: { names: ['remote_signer_url'], parse: parseRemoteSignerUrls },
  remoteSignerTokenFile: { names: ['remote_signer_token_file'], parse: text },
} as const satisfies Record<string, KeySpec<unknown>>;

export type SecurityKeyName = keyof typeof SECURITY_KEYS;

/**
 * Keys of `[security]` that FISCO BCOS 3.x reads (bcos-tool SecurityConfig.cpp) for features
 * gmt0018 does not serve: known, so they raise no unknown-key warning.
 */
const FISCO_ONLY_SECURITY_KEYS = ['kms_connection_str', 'cloud_kms_type', 'cipher_data_key'] as const;

/** Every key `[security]` may hold without a warning, the ones set most often first. */
export const KNOWN_SECURITY_KEYS: readonly string[] = [
  ...Object.values(SECURITY_KEYS).flatMap((spec) => spec.names),
  ...FISCO_ONLY_SECURITY_KEYS,
];

/** A key found in the file: its parsed value, the spelling used, and the line. */
export interface FoundValue<T> {
  readonly value: T;
  readonly key: string;
  readonly line: number;
}

export type SecurityValues = {
  [K in SecurityKeyName]?: FoundValue<ReturnType<(typeof SECURITY_KEYS)[K]['parse']>>;
};

export interface ReadKeysContext {
  file?: string;
  /**
   * The file was not valid UTF-8 and was decoded with U+FFFD replacements: a value holding U+FFFD
   * is then refused, since its real bytes are lost (a password would silently be wrong).
   */
  invalidUtf8?: boolean;
}

/**
 * Read and validate every key of SECURITY_KEYS present in `section`, in file order (so the first
 * bad line is the one reported).
 */
export function readSecurityKeys(section: IniSection, ctx: ReadKeysContext = {}): SecurityValues {
  const present: { field: SecurityKeyName; spec: KeySpec<unknown>; entry: IniEntry; other?: IniEntry }[] = [];
  for (const [field, spec] of Object.entries(SECURITY_KEYS) as [SecurityKeyName, KeySpec<unknown>][]) {
    const found = spec.names
      .map((name) => section.entries.get(name))
      .filter((entry) => entry !== undefined)
      .sort((a, b) => a.line - b.line);
    const [entry, other] = found;
    if (entry === undefined) continue;
    present.push(other === undefined ? { field, spec, entry } : { field, spec, entry, other });
  }
  present.sort((a, b) => (a.other?.line ?? a.entry.line) - (b.other?.line ?? b.entry.line));

  const out: Record<string, FoundValue<unknown>> = {};
  for (const { field, spec, entry, other } of present) {
    const site: ValueSite = {
      line: entry.line,
      section: section.name,
      key: entry.key,
      secret: spec.secret === true,
    };
    if (ctx.file !== undefined) site.file = ctx.file;
    if (other !== undefined) {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_CONFLICT,
        `both ${entry.key} (line ${entry.line}) and ${other.key} (line ${other.line}) are set; ` +
          `they are two spellings of one setting (expected only ${spec.names[0]})`,
        { ...site, line: other.line, key: other.key },
      );
    }
    if (ctx.invalidUtf8 === true && entry.value.includes('\uFFFD')) {
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_BAD_VALUE,
        'the value is not valid UTF-8 (expected config.ini saved as UTF-8; gmt0018 cannot ' +
          'recover the original bytes)',
        site,
      );
    }
    out[field] = { value: spec.parse(entry.value, site), key: entry.key, line: entry.line };
  }
  return out as SecurityValues;
}
