/**
 * The names a FISCO BCOS java-sdk (3.x) config.toml uses, as its own classes read them
 * (ConfigProperty, CryptoMaterialConfig, AccountConfig). Keys and sections are case-sensitive:
 * the java-sdk looks them up in a Java Map.
 */

export const CRYPTO_MATERIAL = 'cryptoMaterial';
export const ACCOUNT = 'account';

/** [cryptoMaterial]: the ones gmt0018 reads first, then the TLS material it does not need. */
export const CRYPTO_MATERIAL_KEYS: readonly string[] = [
  'useSMCrypto',
  'enableHsm',
  'hsmLibPath',
  'hsmKeyIndex',
  'hsmPassword',
  'disableSsl',
  'certPath',
  'caCert',
  'sslCert',
  'sslKey',
  'enSslCert',
  'enSslKey',
];

/** [account] (AccountConfig). */
export const ACCOUNT_KEYS: readonly string[] = [
  'accountFilePath',
  'accountFileFormat',
  'accountAddress',
  'keyStoreDir',
  'password',
];

/**
 * Top-level tables of a java-sdk config.toml: the two above, and the ones gmt0018 has no use for
 * (their keys are not checked). cryptoProvider appears in the java-sdk's HSM example file.
 */
export const JAVA_SDK_SECTIONS: readonly string[] = [
  CRYPTO_MATERIAL,
  ACCOUNT,
  'network',
  'threadPool',
  'amop',
  'cryptoProvider',
];

/** Defaults of AccountConfig. */
export const DEFAULT_KEY_STORE_DIR = 'account';
export const DEFAULT_ACCOUNT_FILE_FORMAT = 'pem';
/** The sub-folder of keyStoreDir an SM2 account lives in (CryptoKeyPair.GM_ACCOUNT_SUBDIR). */
export const SM2_ACCOUNT_SUBDIR = 'gm';
