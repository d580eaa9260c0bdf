// One close() contract for every local backend: new signs are refused at once, signs already in
// flight finish with valid signatures, and close() resolves after them.
import { createSigner, SignerClosedError, SoftwareSigner, type Signer } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2Verify, sm2VerifyDigest } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { NodeFolders } from '../helpers/node-config';

const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const nodes = new NodeFolders(privateKey);
const message = new TextEncoder().encode('in flight at close');

beforeAll(() => keystore.import(5, 'close-pw', privateKey));
afterEach(() => mockControl().setLatencyUs(0));
afterAll(() => {
  keystore.remove();
  nodes.removeAll();
});

const backends: [string, () => Promise<Signer>][] = [
  ['software, 2 threads', async () => SoftwareSigner.fromPrivateKey(privateKey, { threads: 2 })],
  [
    'HSM (mock card, 2 ms per call)',
    async () => {
      mockControl().setLatencyUs(2000);
      return createSigner(nodes.config(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=5\npassword=close-pw`));
    },
  ],
];

describe.each(backends)('%s: close() with signs in flight', (_name, open) => {
  test('the signs in flight finish with valid signatures; later ones are refused', async () => {
    const signer = await open();
    const digests = Array.from({ length: 60 }, (_, i) => sm2Digest(publicKey, message.subarray(0, i % 18)));
    const inFlight = digests.map((digest) => signer.signDigest(digest));
    const closed = signer.close();
    await expect(signer.signDigest(digests[0]!)).rejects.toBeInstanceOf(SignerClosedError);
    const outcomes = await Promise.allSettled(inFlight);
    await closed;
    outcomes.forEach((outcome, i) => {
      expect(outcome.status).toBe('fulfilled');
      const signature = (outcome as PromiseFulfilledResult<Uint8Array>).value;
      expect(sm2VerifyDigest(publicKey, digests[i]!, signature)).toBe(true);
    });
    const last = (outcomes[17] as PromiseFulfilledResult<Uint8Array>).value;
    expect(sm2Verify(publicKey, message.subarray(0, 17), last)).toBe(true);
    await expect(signer.sign(message)).rejects.toBeInstanceOf(SignerClosedError);
    await signer.close(); // a second close() is harmless
  });

  test('close() resolves only after every sign in flight has settled', async () => {
    const signer = await open();
    const order: string[] = [];
    const inFlight = Array.from({ length: 20 }, () => signer.sign(message).then(() => order.push('signed')));
    await signer.close().then(() => order.push('closed'));
    await Promise.all(inFlight);
    expect(order).toEqual([...Array(20).fill('signed'), 'closed']);
  });
});
