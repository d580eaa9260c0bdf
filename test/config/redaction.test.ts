import * as path from 'node:path';
import { format, inspect } from 'node:util';
import { createSecurityConfig, loadSecurityConfig, parseSecurityConfig, type SecurityConfig } from '../../src/config';

const PASSWORD = 'S3cr3t#;pw';

const configs: [string, () => SecurityConfig][] = [
  [
    'loadSecurityConfig',
    () => loadSecurityConfig(path.join(__dirname, '..', 'fixtures', 'config', 'fisco-node', 'config.ini')),
  ],
  [
    'parseSecurityConfig',
    () => parseSecurityConfig(`[security]\nenable_hsm=true\nkey_index=1\npassword = ${PASSWORD}\n`, { baseDir: '/n' }),
  ],
  [
    'createSecurityConfig',
    () =>
      createSecurityConfig({
        enableHsm: true,
        hsmLibPath: '/lib/sdf.so',
        keyIndex: 1,
        password: PASSWORD,
        privateKeyPath: '/n/node.pem',
      }),
  ],
];

describe.each(configs)('a SecurityConfig from %s keeps its password to itself', (_name, make) => {
  const renderings = (cfg: SecurityConfig): Record<string, string> => ({
    json: JSON.stringify(cfg),
    jsonPretty: JSON.stringify({ nested: { cfg } }, null, 2),
    inspect: inspect(cfg),
    inspectHidden: inspect(cfg, { showHidden: true, depth: 10 }),
    inspectRaw: inspect(cfg, { showHidden: true, depth: 10, customInspect: false, getters: true }),
    inspectNested: inspect({ a: [cfg] }, { showHidden: true, depth: 10 }),
    format: format('%s %o %O %j', cfg, cfg, cfg, cfg),
    string: String(cfg),
    template: `${cfg}`,
    concat: '' + cfg,
    keys: Object.keys(cfg).join(','),
    ownNames: Object.getOwnPropertyNames(cfg).join(','),
    entries: JSON.stringify(Object.entries(cfg)),
    values: Object.values(cfg).join(','),
    spread: JSON.stringify({ ...cfg }),
    assign: JSON.stringify(Object.assign({}, cfg)),
    structuredClone: JSON.stringify(structuredClone({ ...cfg })),
  });

  it('returns it from cfg.password', () => {
    expect(make().password).toBe(PASSWORD);
  });

  it.each([
    'json',
    'jsonPretty',
    'inspect',
    'inspectHidden',
    'inspectRaw',
    'inspectNested',
    'format',
    'string',
    'template',
    'concat',
    'keys',
    'ownNames',
    'entries',
    'values',
    'spread',
    'assign',
    'structuredClone',
  ])('never shows it in %s', (how) => {
    const text = renderings(make())[how] as string;
    expect(text).not.toContain('S3cr3t');
    expect(text).not.toContain('#;pw');
  });

  it('says that a password is set, without showing it', () => {
    const cfg = make();
    expect(JSON.parse(JSON.stringify(cfg)).password).toBe('<redacted>');
    expect(inspect(cfg)).toContain("password: '<redacted>'");
    expect(String(cfg)).toContain('<redacted>');
  });

  it('shows the other fields', () => {
    const cfg = make();
    const json = JSON.parse(JSON.stringify(cfg));
    expect(json.enableHsm).toBe(true);
    expect(json.keyIndex).toBe(cfg.keyIndex);
    expect(json.hsmLibPath).toBe(cfg.hsmLibPath);
    expect(inspect(cfg)).toContain('SecurityConfig');
    expect(inspect(cfg)).toContain('keyIndex');
  });

  it('is frozen: the password cannot be replaced or read through a new property', () => {
    const cfg = make();
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(() => {
      (cfg as { password: string }).password = 'other';
    }).toThrow(TypeError);
    expect(cfg.password).toBe(PASSWORD);
  });
});

describe('an empty password', () => {
  it('is shown as empty (no access-right call will be made)', () => {
    const cfg = parseSecurityConfig('[security]\nenable_hsm=true\nkey_index=1\n');
    expect(cfg.password).toBe('');
    expect(JSON.parse(JSON.stringify(cfg)).password).toBe('');
    expect(String(cfg)).toContain('no password');
  });
});
