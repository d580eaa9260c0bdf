/**
 * Sessions stuck in a call past its deadline, against the mock PKCS#11 module's stalls: each is
 * closed once its call returns, and no more than MAX_SESSIONS_LEFT_BEHIND pile up before the
 * module refuses new sessions (PKCS11_SESSIONS_EXHAUSTED) until they return.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { MAX_SESSIONS_LEFT_BEHIND } from '../../src/native/session-calls';
import { Pkcs11Signer } from '../../src/signer';
import { SIGNER_DISPATCHES } from '../helpers/mock-card';
import { MOCK_PKCS11, mockPkcs11, useP256Token } from '../helpers/mock-pkcs11';
import { until } from '../helpers/until';

jest.setTimeout(30_000);

const PIN = '1234';
const mock = mockPkcs11();
const token = useP256Token('stall', PIN, 64);

it.each(SIGNER_DISPATCHES)(
  'closes a session stuck in C_Sign once the call returns, and signs on a new one meanwhile (%s)',
  async (_, dispatch) => {
    const signer = await Pkcs11Signer.open(
      { library: MOCK_PKCS11, tokenLabel: 'stall', pin: PIN, keyLabel: 'k', callTimeoutMs: 100 },
      { ...dispatch(1), retry: { attempts: 1 } },
    );
    try {
      expect(mock.openSessions()).toBe(1);
      mock.setStall('C_Sign', 700, 0, 1);
      const digest = new Uint8Array(32).fill(7);
      await expect(signer.signDigest(digest)).rejects.toMatchObject({ code: 'PKCS11_CALL_TIMEOUT' });
      expect(await signer.signDigest(digest)).toHaveLength(64);
      // the stuck session and its replacement, until the stalled call returns and the first is closed
      expect(mock.openSessions()).toBe(2);
      expect(await until(() => mock.openSessions() === 1, 3_000)).toBe(true);
    } finally {
      await signer.close();
    }
    expect(mock.openSessions()).toBe(0);
  },
);

it(`opens no new session while ${MAX_SESSIONS_LEFT_BEHIND} are stuck, and opens them again once they return`, () => {
  // A child with enough libuv threads for every stalled call to be inside the module at once.
  const script = `
    const { Pkcs11Signer } = require(${JSON.stringify(join(resolve(__dirname, '../../dist'), 'index.js'))});
    const koffi = require('koffi');
    const lib = koffi.load(${JSON.stringify(MOCK_PKCS11)});
    lib.func('unsigned long MOCKP11_SetDir(const char *dir)')(${JSON.stringify(token.dir)});
    const stall = lib.func('unsigned long MOCKP11_SetStall(const char *fn, unsigned int ms, unsigned long after, long count)');
    (async () => {
      const signer = await Pkcs11Signer.open(
        { library: ${JSON.stringify(MOCK_PKCS11)}, tokenLabel: 'stall', pin: '${PIN}', keyLabel: 'k', callTimeoutMs: 50 },
        { sessions: 1, retry: { attempts: 1 } },
      );
      stall('C_Sign', 4000, 0, ${MAX_SESSIONS_LEFT_BEHIND + 8});
      const codes = [];
      for (let i = 0; i < ${MAX_SESSIONS_LEFT_BEHIND + 4}; i++) {
        codes.push(await signer.signDigest(new Uint8Array(32)).then(() => 'signed', (e) => e.code));
      }
      stall(null, 0, 0, 0);
      await new Promise((wake) => setTimeout(wake, 4500));
      codes.push(await signer.signDigest(new Uint8Array(32)).then(() => 'signed', (e) => e.code));
      await signer.close();
      console.log(JSON.stringify(codes));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, UV_THREADPOOL_SIZE: String(MAX_SESSIONS_LEFT_BEHIND + 16) },
    encoding: 'utf8',
    timeout: 25_000,
  });
  expect(child.stderr).toBe('');
  const codes: string[] = JSON.parse(child.stdout);
  expect(codes.slice(0, MAX_SESSIONS_LEFT_BEHIND)).toEqual(
    new Array(MAX_SESSIONS_LEFT_BEHIND).fill('PKCS11_CALL_TIMEOUT'),
  );
  expect(codes.slice(MAX_SESSIONS_LEFT_BEHIND, -1)).toEqual(new Array(4).fill('PKCS11_SESSIONS_EXHAUSTED'));
  expect(codes.at(-1)).toBe('signed');
});
