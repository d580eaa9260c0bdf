// gmt0018: configuration, signers, SM2/SM3 and the errors they throw.
// The low-level device APIs are subpaths: gmt0018/sdf (GM/T 0018 cards), gmt0018/pkcs11 (PKCS#11
// modules); gmt0018/mock provisions the mock card.

// Configuration: a FISCO BCOS node's config.ini [security] (read as the node reads it), a
// java-sdk config.toml, or a plain object.
export { loadSecurityConfig, parseSecurityConfig, parseJavaSdkConfig, createSecurityConfig } from './config';
export { ConfigError, ConfigErrorCodes, DEFAULT_HSM_LIB_PATH } from './config';
export type { SecurityConfig, SecurityConfigInput, HsmConfigInput, SoftwareConfigInput, ConfigWarning } from './config';
export type { ConfigErrorCode, ConfigErrorLocation, JavaSdkConfigOptions, ParseSecurityConfigOptions } from './config';
export type { Pkcs11Settings, RemoteSignerSettings } from './config';

// Signing through the cipher card, a PKCS#11 token, the signing service or in software, behind one interface.
export { createSigner, HsmSigner, Pkcs11Signer, SoftwareSigner, SignerClosedError } from './signer';
export { createRemoteSigner, RemoteSigner, RemoteSignerError } from './signer';
export type { EndpointBackoff, RemoteSignerOptions, RetryPolicy, SoftwareSignerOptions } from './signer';
export type { Signer, Sm2Signer, SignerOptions, SignOptions, SignerBackend, SignerAlgorithm } from './signer';
export type { Pkcs11SignerSettings, EcdsaHash } from './signer';

// Stateless SM2/SM3.
export {
  SM2_DEFAULT_USER_ID,
  sm3,
  sm2Z,
  sm2Digest,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  publicKeyFromPrivateKey,
  isValidPublicKey,
  generatePrivateKey,
  nodeIdOf,
  signatureToDer,
  signatureFromDer,
  toFiscoSignature,
  fromFiscoSignature,
  parseSignature,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyToPem,
} from './sm2';

// Verification tables kept for public keys seen again (bounded LRU; capacity 0 turns it off).
export { configureKeyTableCache, clearKeyTableCache, keyTableCacheStats } from './sm2/key-table-cache';
export type { KeyTableCacheStats } from './sm2/key-table-cache';

// What a device answered: the codes the signers' errors carry.
export { SdfError, SdfBindingError, SDR, sdrName } from './sdf';
export type { SdfBindingErrorCode } from './sdf';
export { Pkcs11Error, Pkcs11BindingError, CKR, ckrName } from './pkcs11';
export type { Pkcs11BindingErrorCode } from './pkcs11';
