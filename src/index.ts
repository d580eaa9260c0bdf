// Configuration: config.ini [security], read as a FISCO BCOS node reads it.
export { parseSecurityConfig, loadSecurityConfig, ConfigError } from './config';
export type { SecurityConfig } from './config';

// Signing through the cipher card or in software, behind one interface.
export { createSigner, HsmSigner, Pkcs11Signer, SoftwareSigner, SignerClosedError } from './signer';
export { createRemoteSigner, RemoteSigner, RemoteSignerError } from './signer';
export type { EndpointBackoff, RemoteSignerOptions, RetryPolicy, SoftwareSignerOptions } from './signer';
export type { Signer, Sm2Signer, SignerOptions, SignOptions, SignerBackend, SignerAlgorithm } from './signer';
export type { Pkcs11SignerSettings } from './signer';

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

// The GM/T 0018 (SDF) binding.
export {
  openDevice,
  SdfDevice,
  SdfSession,
  SdfLibrary,
  SdfError,
  SdfBindingError,
  SDR,
  SGD,
  sdrName,
  SDF_FUNCTION_NAMES,
} from './sdf';
export type { DeviceInfo, SdfLibraryOptions, SdfFunctionName, EccFieldBytes, SdfBindingErrorCode } from './sdf';
export {
  SDF_PROFILES,
  SDF_PROFILE_NAMES,
  resolveSdfLibraryOptions,
  sm2CipherToBytes,
  sm2CipherFromBytes,
  sm2CipherToDer,
  sm2CipherFromDer,
} from './sdf';
export type { SdfProfileName, Sm2Ciphertext, Sm2CipherOrder, Sm2CipherBytesOptions } from './sdf';

// The PKCS#11 binding.
export {
  Pkcs11Module,
  Pkcs11Session,
  Pkcs11Error,
  Pkcs11BindingError,
  CKR,
  CKM_ECDSA,
  ckrName,
  findSigningKey,
  PKCS11_SM2_PROFILES,
} from './pkcs11';
export type { Pkcs11BindingErrorCode, TokenInfo, ModuleInfo, Pkcs11Sm2ProfileName } from './pkcs11';

// Provisioning of the mock card used in tests.
export { importMockKey } from './mock/keystore';
export type { MockKeyImport } from './mock/keystore';
