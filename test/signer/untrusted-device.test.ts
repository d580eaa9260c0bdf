/**
 * The HSM signer and the device under the conditions a real card creates: its key replaced behind
 * the signer's back, close() while signatures are in flight, sessions that fail to close, and
 * calls that do not return.
 */
import { rmSync } from 'node:fs';
import { parseSecurityConfig } from '../../src/config';
import { MAX_SESSIONS_LEFT_BEHIND, openDevice, SDR } from '../../src/sdf';
import { startSigningServer } from '../../src/server';
import { HsmSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, SIGNER_DISPATCHES, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';

const PASSWORD = 'untrusted#;card';
const keystore = new TempKeystore();
const firstKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(firstKey);
const config = parseSecurityConfig(
  `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}\n`,
);
const mock = mockControl();
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

beforeEach(() => keystore.import(1, PASSWORD, firstKey));
afterEach(() => {
  mock.reset();
  mock.setStall(null, 0, 0, 0);
});
afterAll(() => keystore.remove());

async function eventually(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function settle<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch((error: Error) => error);
}

/** One link failure that makes the signer open the device again (which rereads the keystore). */
function failLinkOnce(): void {
  mock.setFault('SDF_InternalSign_ECC', SDR.SDR_COMMFAIL, 0, 1);
  mock.setFault('SDF_OpenSession', SDR.SDR_COMMFAIL, 0, 1);
}

describe('a card whose key changed behind the signer', () => {
  it('makes /readyz answer 503 with SDF_KEY_CHANGED', async () => {
    const node = writeNodeFolder({
      security: `enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}`,
    });
    const server = await startSigningServer({
      config: node.configPath,
      port: 0,
      insecureNoAuth: true,
      signerOptions: { sessions: 1, retry: FAST_RETRY },
      log: { stream: { write: () => undefined } },
    });
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      keystore.import(1, PASSWORD, generatePrivateKey());
      failLinkOnce();
      const sign = await fetch(`${server.url}/v1/sign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: '00' }),
      });
      expect(sign.status).toBe(503);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ error: { code: 'SDF_KEY_CHANGED' } });
    } finally {
      await server.close();
      rmSync(node.dir, { recursive: true, force: true });
    }
  });
});

describe('host verification of device signatures (verifySignatures)', () => {
  it('is turned on by hsm_verify_signatures in config.ini', async () => {
    const fromConfig = parseSecurityConfig(
      `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}\n` +
        'hsm_verify_signatures=true\n',
    );
    const signer = await HsmSigner.open(fromConfig, { sessions: 1 });
    try {
      expect(signer.verifySignatures).toBe(true);
      mock.setWrongSignatures(true);
      await expect(signer.signDigest(new Uint8Array(32).fill(1))).rejects.toMatchObject({ code: 'SDF_BAD_SIGNATURE' });
    } finally {
      await signer.close();
    }
  });
});

describe('close() with work in flight', () => {
  it('closes a session of the device only once the call on it has returned', async () => {
    const device = await openDevice(MOCK_LIB);
    const session = await device.openSession();
    await session.getPrivateKeyAccessRight(1, PASSWORD);
    mock.setStall('SDF_InternalSign_ECC', 150, 0, 1);
    const signing = settle(session.internalSign(1, new Uint8Array(32).fill(7)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await device.close();
    expect(await signing).toBeInstanceOf(Uint8Array);
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
  });

  it('closes sessions that were being opened when close() began, and opens none after', async () => {
    const device = await openDevice(MOCK_LIB);
    mock.setStall('SDF_OpenSession', 100, 0, 1);
    const opening = settle(device.openSession());
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closing = device.close();
    await expect(device.openSession()).rejects.toMatchObject({ code: 'SDF_HANDLE_CLOSED' });
    await closing;
    const session = await opening;
    expect(session).toMatchObject({ closed: true });
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0 });
  });
});

describe('sessions that fail to close', () => {
  it('give back their access right first, are closed later, and no more than a bound are left behind', async () => {
    const device = await openDevice(MOCK_LIB);
    try {
      mock.setFault('SDF_CloseSession', SDR.SDR_COMMFAIL, 0, -1);
      const failing = await device.openSession();
      await failing.getPrivateKeyAccessRight(1, PASSWORD);
      await expect(failing.close()).rejects.toMatchObject({ code: SDR.SDR_COMMFAIL });
      expect(mock.counters()).toMatchObject({ openSessions: 1, accessRights: 0 });
      for (let i = 1; i < MAX_SESSIONS_LEFT_BEHIND; i++) await settle((await device.openSession()).close());
      expect(device.sessionsLeftBehind).toBe(MAX_SESSIONS_LEFT_BEHIND);
      await expect(device.openSession()).rejects.toMatchObject({ code: 'SDF_SESSIONS_EXHAUSTED' });
      mock.setFault(null, 0, 0, 0);
      const fresh = await device.openSession(); // the ones left behind are closed first
      expect(device.sessionsLeftBehind).toBe(0);
      expect(mock.counters().openSessions).toBe(1);
      await fresh.close();
    } finally {
      mock.setFault(null, 0, 0, 0);
      await device.close();
    }
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
  });
});

describe.each(SIGNER_DISPATCHES)('through %s', (_name, dispatch) => {
  describe('a card whose key changed behind the signer', () => {
    it('fails every operation with SDF_KEY_CHANGED instead of returning signatures of another key', async () => {
      // One session: with two, signing threads may retry on the other one, still open on the old
      // device and rightly signing with the old key, and finish before the reopen shows the change.
      const signer = await HsmSigner.open(config, { ...dispatch(1), retry: FAST_RETRY });
      try {
        expect(sm2Verify(publicKey, Buffer.from('before'), await signer.sign(Buffer.from('before')))).toBe(true);
        keystore.import(1, PASSWORD, generatePrivateKey()); // re-provisioned, or failed over to another card
        failLinkOnce();
        const opened = mock.callCount('SDF_OpenDevice');
        const results = await Promise.all([1, 2, 3, 4].map((i) => settle(signer.sign(Buffer.from(`after ${i}`)))));
        expect(mock.callCount('SDF_OpenDevice')).toBe(opened + 1);
        // A sign that ran before the reopen got a signature of the old key; none of the new key got out.
        const failures = results.filter((result): result is Error => result instanceof Error);
        expect(failures.length).toBeGreaterThan(0);
        for (const failure of failures) expect(failure).toMatchObject({ code: 'SDF_KEY_CHANGED' });
        expect(failures[0].message).toMatch(/key at index 1 is no longer the one this signer started with/);
        results.forEach((result, i) => {
          if (result instanceof Uint8Array)
            expect(sm2Verify(publicKey, Buffer.from(`after ${i + 1}`), result)).toBe(true);
        });
        // and from then on, whatever the device says
        await expect(signer.signDigest(new Uint8Array(32))).rejects.toMatchObject({ code: 'SDF_KEY_CHANGED' });
      } finally {
        await signer.close();
      }
      expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
    });
  });

  describe('host verification of device signatures (verifySignatures)', () => {
    it('refuses a signature that does not verify with SDF_BAD_SIGNATURE; off, the bad one gets through', async () => {
      const checked = await HsmSigner.open(config, { ...dispatch(1), verifySignatures: true });
      const unchecked = await HsmSigner.open(config, { ...dispatch(1) });
      try {
        expect(checked.verifySignatures).toBe(true);
        expect(sm2Verify(publicKey, Buffer.from('good'), await checked.sign(Buffer.from('good')))).toBe(true);
        mock.setWrongSignatures(true);
        await expect(checked.sign(Buffer.from('bad'))).rejects.toMatchObject({
          code: 'SDF_BAD_SIGNATURE',
          message: expect.stringMatching(/does not verify under the public key of index 1/),
        });
        // what the check is there for: without it, the faulty card's signature reaches the caller
        const slipped = await unchecked.sign(Buffer.from('bad'));
        expect(sm2Verify(publicKey, Buffer.from('bad'), slipped)).toBe(false);
        mock.setWrongSignatures(false);
        expect(sm2Verify(publicKey, Buffer.from('again'), await checked.sign(Buffer.from('again')))).toBe(true);
      } finally {
        await Promise.all([checked.close(), unchecked.close()]);
      }
    });
  });

  describe('close() with work in flight', () => {
    it('makes every caller of close() wait for the signatures in flight, and never reopens the device', async () => {
      mock.setLatencyUs(30_000);
      const signer = await HsmSigner.open(config, { ...dispatch(4), retry: FAST_RETRY });
      const opened = mock.callCount('SDF_OpenDevice');
      const signs = Array.from({ length: 16 }, (_, i) => settle(signer.sign(Buffer.from(`in flight ${i}`))));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const [first, second] = [signer.close(), signer.close()];
      let signsDone = false;
      void Promise.all(signs).then(() => (signsDone = true));
      await second;
      expect(signsDone).toBe(true);
      await first;
      for (const result of await Promise.all(signs)) expect(result).toBeInstanceOf(Uint8Array);
      expect(mock.callCount('SDF_OpenDevice')).toBe(opened);
      expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
    });
  });

  describe('a call that does not return', () => {
    it('fails its operation with SDF_CALL_TIMEOUT, retires the session and signs on with a fresh one', async () => {
      const library = { callTimeoutMs: 150 };
      const signer = await HsmSigner.open(config, { ...dispatch(2), retry: FAST_RETRY, library });
      try {
        mock.setStall('SDF_InternalSign_ECC', 1500, 0, 1);
        const started = Date.now();
        const stuck = await settle(signer.sign(Buffer.from('stuck')));
        expect(stuck).toMatchObject({ code: 'SDF_CALL_TIMEOUT', fn: 'SDF_InternalSign_ECC' });
        expect((stuck as Error).message).toMatch(/did not return within 150 ms \(hsm_call_timeout_ms\)/);
        expect(Date.now() - started).toBeLessThan(1200);
        const after = await Promise.all([1, 2, 3].map((i) => signer.sign(Buffer.from(`after ${i}`))));
        for (const signature of after) expect(signature).toHaveLength(64);
        expect(signer.sessions).toBe(2);
        expect(signer.sessionsLeftBehind).toBe(1);
        // once the stuck call returns, its session is closed: two sessions open again
        await eventually(() => signer.sessionsLeftBehind === 0 && mock.counters().openSessions === 2);
      } finally {
        await signer.close();
      }
      expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
    });

    it('lets close() return while a call is stuck, and closes the device once it comes back', async () => {
      const signer = await HsmSigner.open(config, {
        ...dispatch(1),
        retry: FAST_RETRY,
        library: { callTimeoutMs: 100 },
      });
      mock.setStall('SDF_InternalSign_ECC', 800, 0, 1);
      await expect(signer.sign(Buffer.from('stuck'))).rejects.toMatchObject({ code: 'SDF_CALL_TIMEOUT' });
      const started = Date.now();
      await signer.close();
      expect(Date.now() - started).toBeLessThan(600);
      await eventually(() => mock.counters().openDevices === 0 && mock.counters().openSessions === 0);
    });
  });
});
