import { openDevice, SdfDevice, SdfSession } from '../../src/sdf';
import { SoftwareSigner } from '../../src/signer';
import { HsmSigner } from '../../src/signer/hsm';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2Verify, type Sm2Signer } from '../../src';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';

/**
 * The cross-verification matrix: who signs (mock card, software signer, OpenSSL, sm-crypto)
 * against who verifies (sm2Verify, SDF_ExternalVerify_ECC, OpenSSL, sm-crypto).
 *
 * Four cells are checked once elsewhere, over 24 keys and message lengths, with IDs and DER:
 * software signatures in OpenSSL and sm-crypto, and theirs in sm2Verify
 * (test/sm2/crosscheck.test.ts; the software signer on threads in
 * test/signer/software-threads.test.ts).
 */
const PASSWORD = 'matrix';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const message = Buffer.from('The quick brown fox jumps over the lazy dog');

let hsm: Sm2Signer;
let software: Sm2Signer;
let device: SdfDevice;
let session: SdfSession;

beforeAll(async () => {
  keystore.import(1, PASSWORD, privateKey);
  hsm = await HsmSigner.open({
    enableHsm: true,
    hsmLibPath: MOCK_LIB,
    keyIndex: 1,
    password: PASSWORD,
    privateKeyPath: '',
  });
  software = SoftwareSigner.fromPrivateKey(privateKey);
  device = await openDevice(MOCK_LIB);
  session = await device.openSession();
});

afterAll(async () => {
  await Promise.all([hsm.close(), software.close(), device.close()]);
  keystore.remove();
});

type Verifier = (message: Uint8Array, signature: Uint8Array) => Promise<boolean> | boolean;

const verifiers: Record<string, Verifier> = {
  sm2Verify: (m, s) => sm2Verify(publicKey, m, s),
  SDF_ExternalVerify_ECC: (m, s) => session.externalVerify(publicKey, sm2Digest(publicKey, m), s),
  'openssl dgst -sm3 -verify': (m, s) => opensslOracle.verify(publicKey, m, s),
  'sm-crypto': (m, s) => smCryptoOracle.verify(publicKey, m, s),
};

const signers: Record<string, (message: Uint8Array) => Promise<Uint8Array> | Uint8Array> = {
  'mock card (SDF_InternalSign_ECC)': (m) => hsm.sign(m),
  'software signer': (m) => software.sign(m),
  'openssl dgst -sm3 -sign': (m) => opensslOracle.sign(privateKey, m),
  'sm-crypto': (m) => smCryptoOracle.sign(privateKey, publicKey, m),
};

const checkedElsewhere = new Set([
  'software signer > openssl dgst -sm3 -verify',
  'software signer > sm-crypto',
  'openssl dgst -sm3 -sign > sm2Verify',
  'sm-crypto > sm2Verify',
]);

const cases = Object.keys(signers)
  .flatMap((signer) => Object.keys(verifiers).map((verifier) => [signer, verifier]))
  .filter(([signer, verifier]) => !checkedElsewhere.has(`${signer} > ${verifier}`));
if (cases.length !== Object.keys(signers).length * Object.keys(verifiers).length - checkedElsewhere.size) {
  throw new Error('checkedElsewhere names a cell that is not in the matrix');
}

describe.each(cases)('signed by %s, verified by %s', (signerName, verifierName) => {
  let signature: Uint8Array;

  beforeAll(async () => {
    signature = await signers[signerName](message);
  });

  it('verifies', async () => {
    expect(await verifiers[verifierName](message, signature)).toBe(true);
  });

  it('fails for a flipped bit in the message', async () => {
    const tampered = Buffer.from(message);
    tampered[5] ^= 0x04;
    expect(await verifiers[verifierName](tampered, signature)).toBe(false);
  });

  it('fails for a flipped bit in the signature', async () => {
    const tampered = Uint8Array.from(signature);
    tampered[63] ^= 0x01;
    expect(await verifiers[verifierName](message, tampered)).toBe(false);
  });
});
