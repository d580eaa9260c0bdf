export { bytesToHex, hexToBytes } from './bytes';
export { sm3 } from './sm3';
export { SM2_DEFAULT_USER_ID, sm2Z, sm2Digest } from './z';
export { sm2Sign, sm2SignDigest, sm2SignDigestWithK } from './sign';
export { sm2Verify, sm2VerifyDigest } from './verify';
export { generatePrivateKey, isValidPublicKey, nodeIdOf, normalizePublicKey, publicKeyFromPrivateKey } from './keys';
export {
  fromFiscoSignature,
  parseSignature,
  signatureFromDer,
  signatureToDer,
  toFiscoSignature,
} from './signature-encoding';
export { parsePrivateKey, privateKeyToPem } from './private-key';
export { parsePublicKey, publicKeyToPem } from './public-key';
export { SM2_N, SM2_P } from './curve';
