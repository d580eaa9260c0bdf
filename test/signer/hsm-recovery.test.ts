import { parseSecurityConfig } from '../../src/config';
import { SDR, SdfError } from '../../src/sdf';
import { HsmSigner, SignerClosedError, type SignerOptions } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, SIGNER_DISPATCHES, TempKeystore } from '../helpers/mock-card';

const PASSWORD = 'recover#;me';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const config = parseSecurityConfig(
  `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}\n`,
);
const mock = mockControl();
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

beforeAll(() => keystore.import(1, PASSWORD, privateKey));
afterAll(() => keystore.remove());
afterEach(() => mock.reset());

async function outcome<T>(run: () => Promise<T>): Promise<T | Error> {
  try {
    return await run();
  } catch (error) {
    return error as Error;
  }
}

let dispatch: (sessions: number) => SignerOptions = SIGNER_DISPATCHES[0][1];

/** Opens a signer, signs `count` messages (each checked), closes it; returns what failed. */
async function signSome(count: number, opts: SignerOptions = {}) {
  const signer = await HsmSigner.open(config, { ...dispatch(2), retry: FAST_RETRY, ...opts });
  const messages = Array.from({ length: count }, (_, i) => Buffer.from(`message ${i}`));
  const results = await Promise.all(messages.map((m) => outcome(() => signer.sign(m))));
  results.forEach((r, i) => {
    if (r instanceof Uint8Array) expect(sm2Verify(publicKey, messages[i], r)).toBe(true);
  });
  const closed = await outcome(() => signer.close());
  return { failures: results.filter((r) => r instanceof Error) as Error[], closed };
}

async function eventually(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function expectNothingLeaked(before: ReturnType<typeof mock.counters>): void {
  const after = mock.counters();
  expect(after.openSessions).toBe(before.openSessions);
  expect(after.openDevices).toBe(before.openDevices);
  expect(after.accessRights).toBe(before.accessRights);
}

describe.each(SIGNER_DISPATCHES)('through %s', (_name, sessionsOf) => {
  beforeAll(() => (dispatch = sessionsOf));

  describe('a fault at each SDF function the signer uses: a retry that succeeds, or the typed error; nothing leaked', () => {
    it.each([
      // [function, code, after calls, count, what the user sees]
      ['SDF_InternalSign_ECC', 'SDR_COMMFAIL', 2, 2, 'all signed'],
      ['SDF_InternalSign_ECC', 'SDR_HARDFAIL', 0, 1, 'all signed'],
      ['SDF_InternalSign_ECC', 'SDR_OPENSESSION', 3, 1, 'all signed'],
      ['SDF_InternalSign_ECC', 'SDR_COMMFAIL', 0, -1, 'SDR_COMMFAIL'],
      ['SDF_InternalSign_ECC', 'SDR_PARDENY', 0, 1, 'SDR_PARDENY'],
      ['SDF_InternalSign_ECC', 'SDR_SIGNERR', 0, 1, 'SDR_SIGNERR'],
      ['SDF_OpenDevice', 'SDR_OPENDEVICE', 0, 1, 'open fails: SDR_OPENDEVICE'],
      ['SDF_OpenSession', 'SDR_OPENSESSION', 0, 1, 'all signed'],
      ['SDF_OpenSession', 'SDR_OPENSESSION', 0, -1, 'open fails: SDR_OPENSESSION'],
      ['SDF_GetPrivateKeyAccessRight', 'SDR_COMMFAIL', 1, 1, 'open fails: SDR_COMMFAIL'],
      ['SDF_ExportSignPublicKey_ECC', 'SDR_HARDFAIL', 0, 1, 'open fails: SDR_HARDFAIL'],
      ['SDF_CloseSession', 'SDR_COMMFAIL', 0, 1, 'close fails: SDR_COMMFAIL'],
    ] as const)('%s failing with %s (after %i calls, %i times): %s', async (fn, code, after, count, expected) => {
      const before = mock.counters();
      mock.setFault(fn, SDR[code], after, count);
      if (expected.startsWith('open fails')) {
        const error = await outcome(() => HsmSigner.open(config, { ...dispatch(2), retry: FAST_RETRY }));
        expect(error).toBeInstanceOf(SdfError);
        expect(error).toMatchObject({ fn, codeName: code });
        expect((error as Error).message).not.toContain(PASSWORD);
      } else {
        const { failures, closed } = await signSome(8);
        if (expected === 'all signed') expect(failures).toEqual([]);
        else if (expected.startsWith('close fails')) {
          expect(failures).toEqual([]);
          expect(closed).toMatchObject({ fn, codeName: code });
        } else {
          expect(failures.length).toBeGreaterThan(0);
          for (const failure of failures) expect(failure).toMatchObject({ fn, codeName: expected });
        }
      }
      expectNothingLeaked(before);
    });

    it('does not repeat a request the device refused (SDR_PARDENY): one call, one error', async () => {
      const signer = await HsmSigner.open(config, { ...dispatch(1), retry: FAST_RETRY });
      try {
        const calls = mock.callCount('SDF_InternalSign_ECC');
        mock.setFault('SDF_InternalSign_ECC', SDR.SDR_PARDENY, 0, -1);
        await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ codeName: 'SDR_PARDENY' });
        expect(mock.callCount('SDF_InternalSign_ECC') - calls).toBe(1);
      } finally {
        mock.reset();
        await signer.close();
      }
    });

    it('replaces a broken session with a new one holding the access right', async () => {
      const before = mock.counters();
      const signer = await HsmSigner.open(config, { ...dispatch(1), retry: FAST_RETRY });
      try {
        const opened = mock.callCount('SDF_OpenSession');
        const granted = mock.callCount('SDF_GetPrivateKeyAccessRight');
        mock.setFault('SDF_InternalSign_ECC', SDR.SDR_COMMFAIL, 0, 1);
        expect(sm2Verify(publicKey, Buffer.from('y'), await signer.sign(Buffer.from('y')))).toBe(true);
        expect(mock.callCount('SDF_OpenSession') - opened).toBe(1);
        expect(mock.callCount('SDF_GetPrivateKeyAccessRight') - granted).toBe(1);
        expect(signer.sessions).toBe(1);
        expect(mock.counters().openSessions).toBe(before.openSessions + 1);
      } finally {
        await signer.close();
      }
      expectNothingLeaked(before);
    });

    it('reopens the device when a new session cannot be opened on the old one', async () => {
      const before = mock.counters();
      const signer = await HsmSigner.open(config, { ...dispatch(1), retry: FAST_RETRY });
      try {
        const devicesOpened = mock.callCount('SDF_OpenDevice');
        mock.setFault('SDF_InternalSign_ECC', SDR.SDR_HARDFAIL, 0, 1);
        mock.setFault('SDF_OpenSession', SDR.SDR_OPENDEVICE, 0, 1);
        expect(sm2Verify(publicKey, Buffer.from('z'), await signer.sign(Buffer.from('z')))).toBe(true);
        expect(mock.callCount('SDF_OpenDevice') - devicesOpened).toBe(1);
        // The old device has no session left, so it is closed (in the background) once retired.
        await eventually(() => mock.counters().openDevices === before.openDevices + 1);
      } finally {
        await signer.close();
      }
      expectNothingLeaked(before);
    });

    it('checks a session that sat idle before using it, and replaces it if the device dropped it', async () => {
      const signer = await HsmSigner.open(config, { ...dispatch(1), retry: FAST_RETRY, healthCheckIdleMs: 0 });
      try {
        await signer.sign(Buffer.from('first'));
        const checks = mock.callCount('SDF_ExportSignPublicKey_ECC');
        const opened = mock.callCount('SDF_OpenSession');
        mock.setFault('SDF_ExportSignPublicKey_ECC', SDR.SDR_COMMFAIL, 0, 1);
        expect(sm2Verify(publicKey, Buffer.from('second'), await signer.sign(Buffer.from('second')))).toBe(true);
        // One check that failed; its replacement reads the key once as it opens (the key check of
        // every new session) and signs without an idle check.
        expect(mock.callCount('SDF_ExportSignPublicKey_ECC') - checks).toBe(2);
        expect(mock.callCount('SDF_OpenSession') - opened).toBe(1);
      } finally {
        await signer.close();
      }
    });
  });

  describe('a device outage during a stream of signs', () => {
    const OUTAGE_MS = 1500;

    async function stream(opts: SignerOptions, ms: number) {
      const signer = await HsmSigner.open(config, { ...dispatch(2), ...opts });
      const results: Array<'ok' | string> = [];
      const failedAt: number[] = [];
      const start = Date.now();
      mock.setOutage(OUTAGE_MS, SDR.SDR_COMMFAIL);
      const workers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; Date.now() - start < ms; i++) {
          const message = Buffer.from(`w${w} #${i}`);
          const sent = Date.now();
          try {
            expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
            results.push('ok');
          } catch (error) {
            expect(error).toBeInstanceOf(SdfError);
            results.push((error as SdfError).codeName);
            failedAt.push(Date.now() - sent);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      });
      await Promise.all(workers);
      const lastResults = results.slice(-8);
      await signer.close();
      return { results, lastResults, failedAt };
    }

    it('fails fast with SDR_COMMFAIL during the outage, then signs again without a restart', async () => {
      const before = mock.counters();
      const { results, lastResults, failedAt } = await stream(
        { retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 } },
        OUTAGE_MS + 800,
      );
      expect(results.filter((r) => r === 'SDR_COMMFAIL').length).toBeGreaterThan(0);
      expect(Math.max(...failedAt)).toBeLessThan(1000);
      expect(lastResults).toEqual(Array(8).fill('ok'));
      expectNothingLeaked(before);
    });

    it('rides the outage out when the retry policy allows for it: every request signed', async () => {
      const before = mock.counters();
      const { results } = await stream({ retry: { attempts: 30, baseDelayMs: 50, maxDelayMs: 200 } }, OUTAGE_MS + 800);
      expect(results.length).toBeGreaterThan(8);
      expect(results.every((r) => r === 'ok')).toBe(true);
      expectNothingLeaked(before);
    });
  });

  describe('close()', () => {
    it('lets signatures in flight finish, refuses new ones, and releases everything', async () => {
      const before = mock.counters();
      mock.setLatencyUs(20_000);
      const signer = await HsmSigner.open(config, { ...dispatch(2) });
      const pending = Array.from({ length: 6 }, (_, i) => signer.sign(Buffer.from(`in flight ${i}`)));
      const closing = signer.close();
      await expect(signer.sign(Buffer.from('late'))).rejects.toBeInstanceOf(SignerClosedError);
      const signatures = await Promise.all(pending);
      await closing;
      signatures.forEach((s, i) => expect(sm2Verify(publicKey, Buffer.from(`in flight ${i}`), s)).toBe(true));
      expectNothingLeaked(before);
    });
  });

  test('a session whose call passed its deadline is not lent again: the next sign gets a fresh one', async () => {
    const before = mock.counters();
    const signer = await HsmSigner.open(config, {
      ...dispatch(1),
      retry: { attempts: 1 },
      library: { callTimeoutMs: 100 },
    });
    try {
      mock.setStall('SDF_InternalSign_ECC', 400, 0, 1);
      await expect(signer.sign(Buffer.from('stalled'))).rejects.toMatchObject({ code: 'SDF_CALL_TIMEOUT' });
      // With one try and one session, a retired session lent again would fail this sign.
      const signature = await signer.sign(Buffer.from('after the stall'));
      expect(sm2Verify(publicKey, Buffer.from('after the stall'), signature)).toBe(true);
    } finally {
      await signer.close();
    }
    // the stalled session is closed once its call returns, after close(), and the device after it
    await eventually(
      () => mock.counters().openSessions === before.openSessions && mock.counters().openDevices === before.openDevices,
    );
    expectNothingLeaked(before);
  });
});
