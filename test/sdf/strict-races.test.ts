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

function rounds(lib: string, keystore: string, count: number, sessions: number, model: string, env = {}) {
  const result = spawnSync(process.execPath, [SCRIPT, lib, keystore, String(count), String(sessions), model], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { status: result.status, signal: result.signal, out: `${result.stdout}${result.stderr}` };
}

describe('calls that must not overlap, against the strict mock in a child process', () => {
  const keystore = new TempKeystore();
  beforeAll(() => keystore.import(1, 'rounds', generatePrivateKey()));
  afterAll(() => keystore.remove());

  it('survives 200 rounds of open, 32 sessions signing at once, close: lifecycle calls one at a time', () => {
    const run = rounds(mockVariantLib('strict'), keystore.dir, 200, 32, 'session');
    expect(run).toMatchObject({ status: 0, signal: null });
    expect(run.out).toContain('200 rounds, 6400 signatures');
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
});
