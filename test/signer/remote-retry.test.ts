// One retry policy for every signer: `retry: { attempts, baseDelayMs, maxDelayMs }`, where
// attempts counts the tries in all, the first included, for the remote signer as for the HSM one.
import { parseSecurityConfig } from '../../src/config';
import { SDR } from '../../src/sdf';
import { createRemoteSigner, HsmSigner, RemoteSignerError } from '../../src/signer';
import { generatePrivateKey } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { sendJson, standInService, type StandIn } from '../helpers/stand-in-service';

const privateKey = generatePrivateKey();
const message = new TextEncoder().encode('tries in all');
const FAST = { baseDelayMs: 1, maxDelayMs: 1 };
const keystore = new TempKeystore();
const standIns: StandIn[] = [];

/** A stand-in whose card always fails: every sign request is a 503. */
async function failingService(): Promise<StandIn> {
  const service = await standInService(privateKey);
  service.behaviour = (_digest, response) =>
    sendJson(response, 503, { error: { code: 'SDR_HARDFAIL', message: 'the card failed' } });
  standIns.push(service);
  return service;
}

beforeAll(() => keystore.import(2, 'retry-pw', privateKey));
afterEach(() => mockControl().reset());
afterAll(async () => {
  keystore.remove();
  await Promise.all(standIns.map((service) => service.close()));
});

/** How many tries one failing sign takes with `retry`, remotely and on the card. */
async function triesOf(retry: { attempts: number }): Promise<{ remote: number; hsm: number }> {
  const service = await failingService();
  const remote = await createRemoteSigner({ url: service.url, retry: { ...retry, ...FAST } });
  try {
    const error = await remote.sign(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteSignerError);
    expect(error).toMatchObject({ status: 503, code: 'SDR_HARDFAIL' });
  } finally {
    await remote.close();
  }

  const config = parseSecurityConfig(
    `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=2\npassword=retry-pw\n`,
  );
  const hsm = await HsmSigner.open(config, { sessions: 1, retry: { ...retry, ...FAST } });
  const before = mockControl().callCount('SDF_InternalSign_ECC');
  try {
    mockControl().setFault('SDF_InternalSign_ECC', SDR.SDR_HARDFAIL);
    await expect(hsm.sign(message)).rejects.toMatchObject({ code: SDR.SDR_HARDFAIL });
  } finally {
    mockControl().setFault(null, 0);
    await hsm.close();
  }
  return { remote: service.bodies.length, hsm: mockControl().callCount('SDF_InternalSign_ECC') - before };
}

describe('retry.attempts is the number of tries in all', () => {
  test.each([1, 2, 5])('attempts: %i → that many sign requests, remote and HSM alike', async (attempts) => {
    expect(await triesOf({ attempts })).toEqual({ remote: attempts, hsm: attempts });
  });

  test('over two instances: each try on the next one, a backoff only once both have failed', async () => {
    const [a, b] = [await failingService(), await failingService()];
    const signer = await createRemoteSigner({ urls: [a.url, b.url], retry: { attempts: 5, ...FAST } });
    try {
      await expect(signer.sign(message)).rejects.toMatchObject({ status: 503 });
      expect(a.bodies.length + b.bodies.length).toBe(5);
      expect(Math.abs(a.bodies.length - b.bodies.length)).toBe(1);
    } finally {
      await signer.close();
    }
  });

  test('the same checks as the HSM signer: attempts below 1 or delays out of order are a RangeError', async () => {
    const service = await failingService();
    for (const retry of [{ attempts: 0 }, { attempts: 1.5 }, { baseDelayMs: 10, maxDelayMs: 5 }, { baseDelayMs: -1 }]) {
      await expect(createRemoteSigner({ url: service.url, retry })).rejects.toThrow(RangeError);
    }
    expect(service.bodies).toHaveLength(0);
  });
});

describe('the deprecated retries / retryDelayMs', () => {
  test('retries: N still means N tries after the first', async () => {
    const service = await failingService();
    const signer = await createRemoteSigner({ url: service.url, retries: 2, retryDelayMs: 1 });
    try {
      await expect(signer.sign(message)).rejects.toMatchObject({ status: 503 });
      expect(service.bodies).toHaveLength(3);
    } finally {
      await signer.close();
    }
  });

  test('given together with retry, they are a TypeError', async () => {
    const service = await failingService();
    await expect(createRemoteSigner({ url: service.url, retry: { attempts: 2 }, retries: 1 })).rejects.toThrow(
      'give retry, or the deprecated retries / retryDelayMs, not both',
    );
  });
});
