/**
 * The PKCS#11 signer on signing threads of its own (signThreads / pkcs11_sign_threads), against
 * the mock PKCS#11 module: what only threads meet (the module's function list, the room for a
 * signature, Ed25519) and how they are set. What both dispatches share runs through both in the
 * SoftHSM, proxy, vendor SM2 and stuck-session tests.
 */
import { p256 } from '@noble/curves/p256';
import { ConfigError, parseSecurityConfig } from '../../src/config';
import { CKR } from '../../src/pkcs11';
import { Pkcs11Signer } from '../../src/signer';
import { SIGNER_DISPATCHES } from '../helpers/mock-card';
import { MOCK_PKCS11, mockPkcs11, useP256Token } from '../helpers/mock-pkcs11';
import { until } from '../helpers/until';
import { SOFTHSM_MODULE, SoftHsmToken } from '../helpers/softhsm';

const PIN = '1234';
const mock = mockPkcs11();
const settings = { library: MOCK_PKCS11, tokenLabel: 'threads', pin: PIN, keyLabel: 'k' };
useP256Token('threads', PIN, 16);

const digests = Array.from({ length: 200 }, (_, i) => new Uint8Array(32).fill(i));

/** Signs 200 digests at once; noble checks each signature. */
async function signsAndVerifies(signer: Pkcs11Signer): Promise<void> {
  const signatures = await Promise.all(digests.map((digest) => signer.signDigest(digest)));
  const point = Buffer.concat([Buffer.from([4]), signer.publicKey]);
  for (const [i, signature] of signatures.entries()) {
    expect(p256.verify(signature, digests[i], point, { lowS: false })).toBe(true);
  }
}

it.each(SIGNER_DISPATCHES)(
  'keeps to the function list the module was initialised through, where each C_GetFunctionList is a new instance (p11-kit client; %s)',
  async (_, dispatch) => {
    mock.listPerCall(true);
    for (const round of [1, 2]) {
      const signer = await Pkcs11Signer.open(settings, dispatch(2));
      try {
        await signsAndVerifies(signer);
      } catch (error) {
        throw new Error(`signer ${round}: ${String(error)}`);
      } finally {
        await signer.close();
      }
    }
  },
);

it('ends an operation the module said needs more room, and signs on the same session', async () => {
  const signer = await Pkcs11Signer.open(settings, { signThreads: 1, retry: { attempts: 1 } });
  try {
    const opened = mock.callCount('C_OpenSession');
    mock.setFault('C_Sign', CKR.CKR_BUFFER_TOO_SMALL, 0, 1);
    await signsAndVerifies(signer);
    expect(mock.callCount('C_OpenSession')).toBe(opened);
  } finally {
    await signer.close();
  }
});

describe.each(SIGNER_DISPATCHES)('recovery under load, %s', (_, dispatch) => {
  it('initialises the module again while signatures keep coming, and loses none', async () => {
    const signer = await Pkcs11Signer.open(settings, { ...dispatch(2), retry: { attempts: 8, baseDelayMs: 5 } });
    const failures: unknown[] = [];
    let running = true;
    let signed = 0;
    const worker = async () => {
      for (let i = 0; running; i++) {
        await signer.signDigest(digests[i % digests.length]).then(
          () => signed++,
          (error: unknown) => failures.push(error),
        );
      }
    };
    try {
      const load = Promise.all(Array.from({ length: 16 }, worker));
      const initialized = mock.callCount('C_Initialize');
      await until(() => signed > 200, 5_000);
      // a session breaks, and its replacement cannot be opened: the module is initialised again
      mock.setFault('C_OpenSession', CKR.CKR_GENERAL_ERROR, 0, 1);
      mock.setFault('C_Sign', CKR.CKR_SESSION_HANDLE_INVALID, 0, 1);
      const reinitialized = await until(() => mock.callCount('C_Initialize') > initialized, 5_000);
      const atReinit = signed;
      await until(() => signed > atReinit + 200, 5_000);
      running = false;
      await load;
      expect({ reinitialized, failures }).toEqual({ reinitialized: true, failures: [] });
      expect(signed).toBeGreaterThan(atReinit + 200);
    } finally {
      running = false;
      await signer.close();
    }
  });

  it('replaces a session the module left an operation active on', async () => {
    const signer = await Pkcs11Signer.open(settings, { ...dispatch(1), retry: { attempts: 3, baseDelayMs: 1 } });
    try {
      // told twice that 512 bytes are too few, the operation is never ended
      mock.setFault('C_Sign', CKR.CKR_BUFFER_TOO_SMALL, 0, 2);
      await expect(signer.signDigest(digests[0])).rejects.toMatchObject({ codeName: 'CKR_BUFFER_TOO_SMALL' });
      await signsAndVerifies(signer);
    } finally {
      await signer.close();
    }
  });
});

it('hands the calls queued on a broken session to a new one, not waiting behind the call in progress', async () => {
  const signer = await Pkcs11Signer.open(settings, { signThreads: 1, retry: { attempts: 3, baseDelayMs: 1 } });
  try {
    // the first signature finds its session broken, and the thread is inside the second (stalled)
    // when the event loop hears it: the eight behind it are made on a new session meanwhile
    mock.setFault('C_SignInit', CKR.CKR_SESSION_HANDLE_INVALID, 0, 1);
    mock.setStall('C_Sign', 1_500, 0, 1);
    const order: number[] = [];
    const signs = digests.slice(0, 10).map((digest, i) => signer.signDigest(digest).then(() => order.push(i)));
    await Promise.all(signs);
    expect(order.indexOf(1)).toBe(9);
  } finally {
    await signer.close();
  }
});

describe.each(SIGNER_DISPATCHES)('a signature longer than any the key makes, %s', (_, dispatch) => {
  it('is refused as a bad response, and the session signs on', async () => {
    const signer = await Pkcs11Signer.open(settings, { ...dispatch(1), retry: { attempts: 3, baseDelayMs: 1 } });
    try {
      const opened = mock.callCount('C_OpenSession');
      mock.signaturePadding(600); // 664 bytes: more than the 512 first given, so the operation is finished in more
      await expect(signer.signDigest(digests[0])).rejects.toMatchObject({ code: 'PKCS11_BAD_RESPONSE', fn: 'C_Sign' });
      mock.signaturePadding(0);
      await signsAndVerifies(signer);
      expect(mock.callCount('C_OpenSession')).toBe(opened);
    } finally {
      await signer.close();
    }
  });

  it('past the most it finishes an operation for, replaces the session the operation is left on', async () => {
    const signer = await Pkcs11Signer.open(settings, { ...dispatch(1), retry: { attempts: 3, baseDelayMs: 1 } });
    try {
      const opened = mock.callCount('C_OpenSession');
      mock.signaturePadding(70_000);
      await expect(signer.signDigest(digests[0])).rejects.toMatchObject({ codeName: 'CKR_BUFFER_TOO_SMALL' });
      mock.signaturePadding(0);
      await signsAndVerifies(signer);
      expect(mock.callCount('C_OpenSession')).toBe(opened + 1);
    } finally {
      await signer.close();
    }
  });
});

describe('settings', () => {
  const config = (extra: string) =>
    parseSecurityConfig(
      `[security]\npkcs11_library=${MOCK_PKCS11}\npkcs11_token_label=threads\npkcs11_pin=${PIN}\npkcs11_key_label=k\n${extra}`,
    );

  it('takes pkcs11_sign_threads from config.ini, from 0 to 64, and not beside pkcs11_sessions', async () => {
    const parsed = config('pkcs11_sign_threads=3\n');
    expect(parsed.pkcs11?.signThreads).toBe(3);
    const signer = await Pkcs11Signer.open({ ...(parsed.pkcs11 as NonNullable<typeof parsed.pkcs11>), pin: PIN });
    try {
      expect(signer.sessions).toBe(3);
      expect(mock.openSessions()).toBe(3);
      await signsAndVerifies(signer);
    } finally {
      await signer.close();
    }
    expect(() => config('pkcs11_sign_threads=65\n')).toThrow(ConfigError);
    expect(config('pkcs11_sign_threads=0\npkcs11_sessions=4\n').pkcs11).toMatchObject({ signThreads: 0, sessions: 4 });
    expect(() => config('pkcs11_sign_threads=2\npkcs11_sessions=4\n')).toThrow(
      /pkcs11_sessions and pkcs11_sign_threads are both set/,
    );
  });

  it('takes signThreads, a signer option, over the settings pool size', async () => {
    const signer = await Pkcs11Signer.open({ ...settings, sessions: 4 }, { signThreads: 2 });
    try {
      expect(signer.sessions).toBe(2);
    } finally {
      await signer.close();
    }
  });

  it('refuses signThreads beside sessions', async () => {
    await expect(Pkcs11Signer.open(settings, { signThreads: 2, sessions: 2 })).rejects.toThrow(
      /sessions and signThreads cannot both be set/,
    );
  });

  it('refuses signing threads for an Ed25519 key, which signs whole messages', async () => {
    const softhsm = new SoftHsmToken('ed-threads');
    try {
      softhsm.generate('EC:edwards25519', 'ed', '01');
      await expect(
        Pkcs11Signer.open(
          { library: SOFTHSM_MODULE, tokenLabel: softhsm.label, pin: softhsm.pin, keyLabel: 'ed' },
          { signThreads: 2 },
        ),
      ).rejects.toThrow(/Ed25519 key signs whole messages: use pkcs11_sessions/);
    } finally {
      softhsm.remove();
    }
  });
});
