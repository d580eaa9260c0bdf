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
  hsmLibrary?: HsmLibrarySettings;
  /**
   * gmt0018 extension key hsm_verify_signatures: verify every signature the card returns on the
   * host before handing it out (default false; see the signer option verifySignatures).
   */
  hsmVerifySignatures?: boolean;
  /**
   * gmt0018 extension keys remote_signer_url (comma-separated for several instances) and
   * remote_signer_token_file: sign through `gmt0018 serve` instead of a local card or key file.
   */
  remoteSigner?: RemoteSignerSettings;
}

/** Where the signing service is; the token file is absolute (resolved against the config folder). */
export interface RemoteSignerSettings {
  urls: readonly string[];
  tokenFile?: string;
}

/**
 * The SDF library options a config file can set (hsm_profile, hsm_ecc_field_bytes,
 * hsm_sign_with_alg_id, hsm_symbols, hsm_preload, hsm_thread_model, hsm_call_timeout_ms,
 * hsm_kek_algorithm); preload paths are resolved like hsm_lib_path.
 */
export type HsmLibrarySettings = SdfLibraryOptions;
