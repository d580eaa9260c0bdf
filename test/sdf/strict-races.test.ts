/**
 * Races the strict mock card turns into crashes: it aborts the process when two calls that
 * open or close devices and sessions overlap (libraries keep their session lists unlocked), and,
 * with its serial check on, when any two calls overlap. Each run is a child process.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mockVariantLib, TempKeystore } from '../helpers/mock-card';
import { generatePrivateKey } from '../../src/sm2';

const SCRIPT = join(__dirname, '../fixtures/scripts/strict-rounds.cjs');

function rounds(
  lib: string,
  keystore: string,
  count: number,
  sessions: number,
  model: string,
  env = {},
  more: string[] = [],
) {
  const result = spawnSync(process.execPath, [SCRIPT, lib, keystore, String(count), String(sessions), model, ...more], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { status: result.status, signal: result.signal, out: `${result.stdout}${result.stderr}` };
}

describe('calls that must not overlap, against the strict mock in a child process', () => {
  const keystore = new TempKeystore();

  /**
   * Runs `body` in a child process with `session` open on the strict mock (`lib`), then prints
   * 'no overlap caught'; the child's result.
   */
  function onOneStrictSession(body: string[]) {
    const script = [
      `const { openDevice } = require(${JSON.stringify(join(__dirname, '../../dist/sdf.js'))});`,
      `process.env.GMT0018_MOCK_KEYSTORE = ${JSON.stringify(keystore.dir)};`,
      `const lib = ${JSON.stringify(mockVariantLib('strict'))};`,
      '(async () => {',
      '  const device = await openDevice(lib);',
      '  const session = await device.openSession();',
      ...body,
      "  console.log('no overlap caught');",
      '})();',
    ].join('\n');
    return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  }
  beforeAll(() => keystore.import(1, 'rounds', generatePrivateKey()));
  afterAll(() => keystore.remove());

  it('survives 200 rounds of open, 32 sessions signing at once, close: lifecycle calls one at a time', () => {
    const run = rounds(mockVariantLib('strict'), keystore.dir, 200, 32, 'session');
    expect(run).toMatchObject({ status: 0, signal: null });
    expect(run.out).toContain('200 rounds, 6400 signatures');
  });

  it('signs through signing threads without two calls on one session at once (the strict mock aborts on that)', () => {
    const run = rounds(mockVariantLib('strict'), keystore.dir, 20, 2, 'session', {}, ['threads', '400']);
    expect(run).toMatchObject({ status: 0, signal: null });
    expect(run.out).toContain('20 rounds, 8000 signatures');
  });

  it('makes every call of a library one at a time under hsm_thread_model=serial', () => {
    // 2 ms a call, so that calls running side by side certainly overlap
    const serial = { GMT0018_MOCK_SERIAL: '1', GMT0018_MOCK_LATENCY_US: '2000' };
    const run = rounds(mockVariantLib('standard'), keystore.dir, 5, 8, 'serial', serial);
    expect(run).toMatchObject({ status: 0, signal: null });
    expect(run.out).toContain('5 rounds, 40 signatures');
    // The check itself: the same work under the session model overlaps signatures, and aborts.
    const overlapping = rounds(mockVariantLib('standard'), keystore.dir, 5, 8, 'session', serial);
    expect(overlapping.signal).toBe('SIGABRT');
    expect(overlapping.out).toMatch(/calls must not overlap/);
  });

  it('is strict enough to catch it: two calls on one session at once abort the strict mock', () => {
    // The binding never does this; calling one session from the thread pool twice at once does.
    const result = onOneStrictSession([
      "  await session.getPrivateKeyAccessRight(1, 'rounds');",
      '  const digest = new Uint8Array(32).fill(7);',
      '  for (let i = 0; i < 200; i++) await Promise.all([1, 2, 3, 4].map(() => session.internalSign(1, digest)));',
    ]);
    expect(result.signal).toBe('SIGABRT');
    expect(result.stderr).toContain('two calls on one session at once');
  });

  it('holds a session through a stalled call too: a second call on it meanwhile aborts', () => {
    const result = onOneStrictSession([
      "  require('koffi').load(lib).func('MOCK_SetStall', 'int', ['str', 'uint32_t', 'uint32_t', 'int'])('SDF_GenerateRandom', 400, 0, 1);",
      '  const stalled = session.generateRandom(16);',
      '  await new Promise((resolve) => setTimeout(resolve, 50));',
      '  await session.getDeviceInfo();',
      '  await stalled;',
    ]);
    expect(result.signal).toBe('SIGABRT');
    expect(result.stderr).toContain('two calls on one session at once');
  });
});
