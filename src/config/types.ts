import type { SdfLibraryOptions } from '../sdf/library';

/**
 * What gmt0018 needs from the `[security]` section of a FISCO BCOS node's config.ini.
 *
 * A plain interface: TypeScript users may write one by hand. Objects returned by
 * parseSecurityConfig / loadSecurityConfig / createSecurityConfig additionally keep the password
 * out of JSON, util.inspect, String() and Object.keys (see createSecurityConfig).
 */
export interface SecurityConfig {
  /** enable_hsm=true, or kms_type=HSM (FISCO 3.13+ spelling). */
  enableHsm: boolean;
  /**
   * hsm_lib_path, default /usr/local/lib/libgmt0018.so. Absolute, or resolved against the config
   * file's folder when it contains a `/`; a bare file name (`libswsds.so`) is kept as it is, since
   * the node hands it to dlopen, which then searches the system library path.
   */
  hsmLibPath: string;
  /** key_index (alias key_id): index of the SM2 sign key inside the card. Set when the HSM is on. */
  keyIndex?: number;
  /** enc_key_index, default = keyIndex (FISCO: the internal SM2 encryption key). */
  encKeyIndex?: number;
  /** password, default "" (empty: no access-right call is made, as FISCO does). */
  password: string;
  /** private_key_path, absolute: the software key used when the HSM is off. */
  privateKeyPath: string;
  /** The file the settings came from, for messages. */
  configPath?: string;
  /**
   * How the vendor's SDF library differs from the standard (gmt0018 extension keys hsm_profile,
   * hsm_ecc_field_bytes, hsm_sign_with_alg_id, hsm_symbols, hsm_preload); absent when none is set.
   */
  hsmLibrary?: SdfLibraryOptions;
  /**
   * gmt0018 extension key hsm_verify_signatures: verify every signature the card returns on the
   * host before handing it out (default false; see the signer option verifySignatures).
   */
  hsmVerifySignatures?: boolean;
  /**
   * gmt0018 extension key hsm_sign_threads: sign on this many threads of gmt0018's own, for fast
   * cards (default 0: the libuv pool; see the signer option signThreads).
   */
  hsmSignThreads?: number;
  /**
   * gmt0018 extension keys pkcs11_*: sign with a key in a PKCS#11 HSM. The PIN (pkcs11_pin) is
   * kept as the config's redacted `password`; pkcs11_pin_file names a file holding it instead.
   */
  pkcs11?: Pkcs11Settings;
  /**
   * gmt0018 extension keys remote_signer_url (comma-separated for several instances) and
   * remote_signer_token_file: sign through `gmt0018 serve` instead of a local card or key file.
   */
  remoteSigner?: RemoteSignerSettings;
  /**
   * Keys the reader did not know (FISCO ignores them, and so does gmt0018), each with a
   * did-you-mean when one is close: `[security] enable_hms is not a known key (did you mean
   * enable_hsm?)`. Absent or empty when there were none.
   */
  warnings?: readonly ConfigWarning[];
}

/**
 * A key inside a cipher card, as a plain object: what createSecurityConfig and createSigner need
 * to know, the rest has defaults (hsmLibPath DEFAULT_HSM_LIB_PATH, password '', encKeyIndex =
 * keyIndex). No privateKeyPath: the key never leaves the card.
 */
export interface HsmConfigInput {
  enableHsm: true;
  /** Index of the SM2 sign key inside the card. */
  keyIndex: number;
  hsmLibPath?: string;
  encKeyIndex?: number;
  /** The card's access password for the key; '' (the default) makes no access-right call. */
  password?: string;
  hsmLibrary?: SdfLibraryOptions;
  hsmVerifySignatures?: boolean;
  hsmSignThreads?: number;
  configPath?: string;
  warnings?: readonly ConfigWarning[];
}

/** A software key held in a PEM (or hex) file, as a plain object. */
export interface SoftwareConfigInput {
  enableHsm?: false;
  /** The SM2 private key file, e.g. conf/node.pem. */
  privateKeyPath: string;
  configPath?: string;
  warnings?: readonly ConfigWarning[];
}

/** What createSecurityConfig accepts: a complete SecurityConfig, or one of the two shapes above. */
export type SecurityConfigInput = SecurityConfig | HsmConfigInput | SoftwareConfigInput;

/** One key that was read past: where it was, and what it may have meant. */
export interface ConfigWarning {
  /** The whole sentence, as the CLI prints it after `warning: `. */
  message: string;
  /** The section and the key as written. */
  section: string;
  key: string;
  /** The known key it is closest to, when one is close. */
  suggestion?: string;
  /** Where it was read. */
  file?: string;
  line?: number;
}

/** A key in a PKCS#11 token; paths are absolute (resolved against the config folder). */
export interface Pkcs11Settings {
  /** pkcs11_library: the module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  library: string;
  /** pkcs11_token_label, or pkcs11_slot: where the key is (one of them). */
  tokenLabel?: string;
  slot?: number;
  /** pkcs11_pin_file: a file holding the user PIN (trimmed), instead of pkcs11_pin. */
  pinFile?: string;
  /** pkcs11_key_label and/or pkcs11_key_id (hex; Fabric's SKI works): exactly one private key. */
  keyLabel?: string;
  keyId?: string;
  /** pkcs11_sessions: sessions in the pool (default as the HSM signer's, capped by the token). */
  sessions?: number;
  /**
   * pkcs11_sign_threads: sign on this many threads of gmt0018's own, each owning one session,
   * instead of the pool (default 0; not with pkcs11_sessions; keys that sign digests only).
   */
  signThreads?: number;
  /** pkcs11_preload: libraries loaded first, as hsm_preload. */
  preload?: readonly string[];
  /** pkcs11_profile: the vendor's SM2 key type and mechanism (sansec, tass, luna, ibm-ep11). */
  profile?: string;
  /** pkcs11_sm2_mechanism, pkcs11_signature_format: override the profile's. */
  sm2Mechanism?: number;
  signatureFormat?: 'raw' | 'der';
  /** pkcs11_call_timeout_ms: how long one call may take (default 10 000; 0: no deadline). */
  callTimeoutMs?: number;
}

/** Where the signing service is; the token file is absolute (resolved against the config folder). */
export interface RemoteSignerSettings {
  urls: readonly string[];
  tokenFile?: string;
}
