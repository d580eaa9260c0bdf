// The mock card's own C self-test and the native signing loop, run from jest so CI covers the
// mock library itself (the TS binding's tests are elsewhere). `npm test` builds them first
// through `pretest` (npm run build:mock).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BUILD = resolve(__dirname, '..', '..', 'native-bindings', 'mock-sdf', 'build');

function requireBuilt(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build:mock`);
  return path;
}

describe('mock SDF card (native)', () => {
  const variants: Array<[string, string]> = [
    ['standard', join(BUILD, 'selftest')],
    ['bits256', join(BUILD, 'bits256', 'selftest')],
    ['algid', join(BUILD, 'algid', 'selftest')],
  ];

  for (const [variant, binary] of variants) {
    const run = variant === 'standard' || existsSync(binary) ? test : test.skip;
    run(
      `C self-test passes (${variant})`,
      () => {
        const result = spawnSync(requireBuilt(binary), [], { encoding: 'utf8', timeout: 60_000 });
        if (result.status !== 0) throw new Error(`selftest ${variant} failed:\n${result.stdout}\n${result.stderr}`);
        expect(result.stdout).toMatch(/^ok: \d+ checks, 0 failed$/m);
      },
      90_000,
    );
  }

  test('sdf-loop signs with a key provisioned in the keystore format', () => {
    const keystore = mkdtempSync(join(tmpdir(), 'gmt0018-loop-'));
    try {
      const salt = randomBytes(16);
      const password = 'loop password';
      const passwordSm3 = createHash('sm3').update(salt).update(password).digest('hex');
      writeFileSync(
        join(keystore, 'sign-3.key'),
        `private=${'11'.repeat(32)}\nsalt=${salt.toString('hex')}\npassword_sm3=${passwordSm3}\n`,
      );
      const loop = requireBuilt(join(BUILD, 'sdf-loop'));
      const env = { ...process.env, GMT0018_MOCK_KEYSTORE: keystore };
      const ok = spawnSync(loop, ['3', password, '50'], { encoding: 'utf8', env });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/^50 signs in [\d.]+ s: \d+ ops\/s$/m);

      const denied = spawnSync(loop, ['3', 'wrong', '1'], { encoding: 'utf8', env });
      expect(denied.status).toBe(1);
      expect(denied.stderr).toContain('SDF_GetPrivateKeyAccessRight failed: 0x01000007');

      const usage = spawnSync(loop, [], { encoding: 'utf8', env });
      expect(usage.status).toBe(2);
    } finally {
      rmSync(keystore, { recursive: true, force: true });
    }
  });
});
