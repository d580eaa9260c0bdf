/**
 * What SoftHSM cannot show, against the mock PKCS#11 module: SM2 under each vendor profile's
 * key type and mechanism (raw and DER signatures), a CloudHSM-like key, and a proxy whose client
 * answers CKR_DEVICE_ERROR to everything after a restart until the module is initialised again.
 */
import { inspect } from 'node:util';
import { CKR, Pkcs11BindingError, Pkcs11Module } from '../../src/pkcs11';
import { Pkcs11Signer } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2';
import { SIGNER_DISPATCHES } from '../helpers/mock-card';
import { MOCK_PKCS11, MockToken, mockPkcs11 } from '../helpers/mock-pkcs11';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';

const PIN = 'cu1:Pa#ss:w0rd';
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const mock = mockPkcs11();

function tokenFile(profile: string, keys: string): string {
  return `[token]\nlabel=vendor\npin=${PIN}\nprofile=${profile}\n\n${keys}`;
}

afterEach(() => mock.reset());

describe.each(['sansec', 'tass', 'luna', 'ibm-ep11'] as const)('SM2 under the %s profile', (profile) => {
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFromPrivateKey(privateKey);
  let token: MockToken;
  beforeAll(() => {
    token = new MockToken(tokenFile(profile, `[key]\nlabel=node0\nid=0a0b\ntype=sm2\nprivate=${hex(privateKey)}\n`));
  });
  afterAll(() => token.remove());

  it.each(SIGNER_DISPATCHES)(
    'signs SM3(Z‖M) with the default ID (%s): OpenSSL and sm-crypto verify it',
    async (_, dispatch) => {
      const signer = await Pkcs11Signer.open(
        {
          library: MOCK_PKCS11,
          tokenLabel: 'vendor',
          pin: PIN,
          keyLabel: 'node0',
          profile,
        },
        dispatch(2),
      );
      try {
        expect(signer).toMatchObject({ backend: 'pkcs11', algorithm: 'sm2' });
        expect(signer.publicKey).toEqual(publicKey);
        expect(signer.nodeId).toBe(hex(publicKey));
        const message = Buffer.from(`block header under ${profile}`);
        const signature = await signer.sign(message);
        expect(signature).toHaveLength(64);
        expect(opensslOracle.verify(publicKey, message, signature)).toBe(true);
        expect(smCryptoOracle.verify(publicKey, message, signature)).toBe(true);
        expect(await signer.verify(message, signature)).toBe(true);
      } finally {
        await signer.close();
      }
    },
  );
});

it('refuses an SM2 key without a profile, naming the setting', async () => {
  const token = new MockToken(
    tokenFile('sansec', `[key]\nlabel=node0\ntype=sm2\nprivate=${hex(generatePrivateKey())}\n`),
  );
  try {
    await expect(
      Pkcs11Signer.open({ library: MOCK_PKCS11, tokenLabel: 'vendor', pin: PIN, keyLabel: 'node0' }),
    ).rejects.toMatchObject({ code: 'PKCS11_KEY_UNSUPPORTED', message: expect.stringMatching(/pkcs11_profile/) });
  } finally {
    token.remove();
  }
});

it.each(SIGNER_DISPATCHES)(
  'takes a DER signature where the vendor returns one (pkcs11_sm2_mechanism, pkcs11_signature_format; %s)',
  async (_, dispatch) => {
    const privateKey = generatePrivateKey();
    const token = new MockToken(
      tokenFile('sansec', `[key]\nlabel=node0\ntype=sm2\nprivate=${hex(privateKey)}\n`).replace(
        'profile=sansec',
        'profile=sansec\nmechanism=0x80008104,digest,der',
      ),
    );
    try {
      const signer = await Pkcs11Signer.open(
        {
          library: MOCK_PKCS11,
          tokenLabel: 'vendor',
          pin: PIN,
          keyLabel: 'node0',
          profile: 'sansec',
          signatureFormat: 'der',
        },
        dispatch(2),
      );
      try {
        const signature = await signer.sign(Buffer.from('der'));
        expect(opensslOracle.verify(publicKeyFromPrivateKey(privateKey), Buffer.from('der'), signature)).toBe(true);
      } finally {
        await signer.close();
      }
    } finally {
      token.remove();
    }
  },
);

it('signs with a CloudHSM-like key: no public object, a raw point on the private key, a user:password PIN', async () => {
  const privateKey = generatePrivateKey();
  const token = new MockToken(
    tokenFile(
      'sansec',
      `[key]\nlabel=validator\nid=01\ntype=sm2\nflags=no_public_object, raw_point\nprivate=${hex(privateKey)}\n`,
    ),
  );
  try {
    const signer = await Pkcs11Signer.open({
      library: MOCK_PKCS11,
      tokenLabel: 'vendor',
      pin: PIN,
      keyId: '01',
      profile: 'sansec',
    });
    try {
      expect(signer.publicKey).toEqual(publicKeyFromPrivateKey(privateKey));
      const signature = await signer.sign(Buffer.from('cloud'));
      expect(smCryptoOracle.verify(signer.publicKey, Buffer.from('cloud'), signature)).toBe(true);
      expect(inspect(signer, { showHidden: true, customInspect: false, getters: true, depth: 8 })).not.toContain(PIN);
    } finally {
      await signer.close();
    }
  } finally {
    token.remove();
  }
});

describe('a proxy whose client must be initialised again after its server restarted', () => {
  let token: MockToken;
  beforeAll(() => {
    token = new MockToken(
      tokenFile('standard', `[key]\nlabel=p256\ntype=p256\nprivate=${hex(generatePrivateKey())}\n`),
    );
  });
  afterAll(() => token.remove());

  it.each(SIGNER_DISPATCHES)(
    'initialises the module again, finds the token and key again, and signs without a restart of the process (%s)',
    async (_, dispatch) => {
      const signer = await Pkcs11Signer.open(
        { library: MOCK_PKCS11, tokenLabel: 'vendor', pin: PIN, keyLabel: 'p256' },
        { retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 }, ...dispatch(2) },
      );
      try {
        const before = mock.callCount('C_Initialize');
        mock.proxyRestart();
        const signatures = await Promise.all(
          [1, 2, 3, 4, 5].map((i) => signer.sign(Buffer.from(`after restart ${i}`))),
        );
        for (const [i, signature] of signatures.entries()) {
          expect(await signer.verify(Buffer.from(`after restart ${i + 1}`), signature)).toBe(true);
        }
        expect(mock.callCount('C_Initialize')).toBe(before + 1);
      } finally {
        await signer.close();
      }
    },
  );

  it('reports each failure of the module with its CKR code and function', async () => {
    const module = await Pkcs11Module.open(MOCK_PKCS11);
    try {
      mock.setFault('C_GetSlotList', CKR.CKR_DEVICE_REMOVED, 0, 1);
      await expect(module.slots()).rejects.toMatchObject({ fn: 'C_GetSlotList', codeName: 'CKR_DEVICE_REMOVED' });
    } finally {
      await module.close();
    }
  });
});

it('names a pkcs11_preload library that cannot be loaded, as a PKCS#11 binding error', async () => {
  const missing = '/nonexistent/libvendor-deps.so';
  const opening = Pkcs11Signer.open({
    library: MOCK_PKCS11,
    preload: [missing],
    tokenLabel: 'vendor',
    pin: PIN,
    keyLabel: 'x',
  });
  await expect(opening).rejects.toBeInstanceOf(Pkcs11BindingError);
  await expect(opening).rejects.toMatchObject({ code: 'PKCS11_LIBRARY_NOT_FOUND', libPath: missing });
  await expect(opening).rejects.toThrow(`pkcs11_preload library`);
});
