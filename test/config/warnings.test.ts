import { inspect } from 'node:util';
import { parseSecurityConfig, type SecurityConfig } from '../../src/config';
import { expectNoSecret } from '../helpers/secrets';

const FILE = '/node0/config.ini';
const read = (security: string): SecurityConfig =>
  parseSecurityConfig(`[security]\n${security}\n`, { configPath: FILE });

describe('unknown keys in [security] are read past and reported', () => {
  it('suggests the key a typo most likely meant, with file and line', () => {
    const cfg = read('private_key_path=conf/node.pem\nenable_hms=true');
    expect(cfg.enableHsm).toBe(false);
    expect(cfg.warnings).toEqual([
      {
        message: '[security] enable_hms is not a known key (did you mean enable_hsm?)',
        section: 'security',
        key: 'enable_hms',
        suggestion: 'enable_hsm',
        file: FILE,
        line: 3,
      },
    ]);
  });

  it.each([
    ['lib_path', 'hsm_lib_path'], // the old spelling, too far for the distance alone
    ['enalbe_hsm', 'enable_hsm'], // two neighbours swapped
    ['keyIndex', 'key_index'], // the java-sdk's camelCase
    ['Password', 'password'],
    ['hsm-lib-path', 'hsm_lib_path'],
  ])('%s → did you mean %s?', (key, expected) => {
    const [warning] = read(`${key}=1`).warnings ?? [];
    expect(warning?.suggestion).toBe(expected);
    expect(warning?.message).toBe(`[security] ${key} is not a known key (did you mean ${expected}?)`);
  });

  it('offers no suggestion when no known key is close', () => {
    const [warning] = read('checkpoint_timeout=3000').warnings ?? [];
    expect(warning).toEqual({
      message: '[security] checkpoint_timeout is not a known key',
      section: 'security',
      key: 'checkpoint_timeout',
      file: FILE,
      line: 2,
    });
  });

  it("does not warn for keys FISCO BCOS knows but gmt0018 does not use, nor for gmt0018's own", () => {
    const cfg = read(
      [
        'kms_connection_str=https://kms',
        'cloud_kms_type=AWS',
        'cipher_data_key=abc',
        'enable_hsm=true',
        'key_id=1',
        'enc_key_index=2',
        'hsm_lib_path=/lib/sdf.so',
        'hsm_profile=bits256',
        'hsm_verify_signatures=true',
      ].join('\n'),
    );
    expect(cfg.warnings).toBeUndefined();
    expect(JSON.stringify(cfg)).not.toContain('warnings');
  });

  it('never shows a value, and hides a key name that may be a secret', () => {
    const cfg = read('pasword=Hunter2Value\nHunter2 Secret=x');
    expect(cfg.warnings?.map((w) => w.message)).toEqual([
      '[security] pasword is not a known key (did you mean password?)',
      '[security] (name not shown) is not a known key',
    ]);
    expectNoSecret(cfg, ['Hunter2Value', 'Hunter2 Secret']);
  });

  it('keeps the warnings frozen and visible in JSON and inspect', () => {
    const cfg = read('enable_hms=true\npassword=Pw0rd!');
    expect(Object.isFrozen(cfg.warnings)).toBe(true);
    expect(Object.isFrozen(cfg.warnings?.[0])).toBe(true);
    expect(JSON.parse(JSON.stringify(cfg)).warnings[0].suggestion).toBe('enable_hsm');
    expect(inspect(cfg, { depth: 5 })).toContain('did you mean enable_hsm?');
    expectNoSecret(cfg, ['Pw0rd!']);
  });
});
