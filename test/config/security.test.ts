import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  createSecurityConfig,
  DEFAULT_HSM_LIB_PATH,
  loadSecurityConfig,
  parseSecurityConfig,
  type SecurityConfig,
} from '../../src/config';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'config');
const fixture = (name: string): string => path.join(FIXTURES, name, 'config.ini');

/** The fields of a config, password included (which Object spread would drop). */
const fieldsOf = (cfg: SecurityConfig): Record<string, unknown> => ({ ...cfg, password: cfg.password });

describe('loadSecurityConfig on FISCO BCOS 3.x node configs', () => {
  it('reads the full generated config.ini with the HSM on', () => {
    const file = fixture('fisco-node');
    const dir = path.dirname(file);
    const cfg = loadSecurityConfig(file);
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: true,
      hsmLibPath: '/usr/local/lib/libgmt0018.so',
      keyIndex: 43,
      encKeyIndex: 43,
      password: 'S3cr3t#;pw',
      privateKeyPath: path.join(dir, 'conf', 'node.pem'),
      configPath: file,
      // the generated file has a [consensus] key in [security]: read past, and reported
      warnings: [
        {
          message: '[security] checkpoint_timeout is not a known key',
          section: 'security',
          key: 'checkpoint_timeout',
          file,
          line: 68,
        },
      ],
    });
  });

  it('reads the same file with CRLF line endings identically', () => {
    const crlf = fixture('fisco-node-crlf');
    const raw = readFileSync(crlf, 'utf8');
    // The fixture must really be CRLF (guards against an end-of-line conversion by git).
    expect(raw.split('\r\n').length).toBeGreaterThan(100);
    expect(raw.replace(/\r\n/g, '\n')).toBe(readFileSync(fixture('fisco-node'), 'utf8'));

    const a = loadSecurityConfig(fixture('fisco-node'));
    const b = loadSecurityConfig(crlf);
    expect(b.password).toBe('S3cr3t#;pw');
    const sameExceptFile = (cfg: SecurityConfig) => ({
      ...fieldsOf(cfg),
      configPath: 0,
      privateKeyPath: 0,
      warnings: cfg.warnings?.map((w) => ({ ...w, file: 0 })),
    });
    expect(sameExceptFile(b)).toEqual(sameExceptFile(a));
  });

  it('reads kms_type=HSM: HSM on despite enable_hsm=false, password read whole', () => {
    const file = fixture('fisco-node-kms-hsm');
    const dir = path.dirname(file);
    const cfg = loadSecurityConfig(file);
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: true,
      hsmLibPath: path.join(dir, 'lib', 'libsdf.so'),
      keyIndex: 43,
      encKeyIndex: 44,
      password: 'S3cr3t#;pw Pa#ss;w0rd ; x',
      privateKeyPath: path.join(dir, 'conf', 'node.pem'),
      configPath: file,
    });
  });

  it('reads the default generated config.ini (software key, no HSM)', () => {
    const file = fixture('fisco-node-software');
    const cfg = loadSecurityConfig(file);
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: false,
      hsmLibPath: DEFAULT_HSM_LIB_PATH,
      password: '',
      privateKeyPath: path.join(path.dirname(file), 'conf', 'node.pem'),
      configPath: file,
    });
    expect(cfg.keyIndex).toBeUndefined();
    expect(cfg.encKeyIndex).toBeUndefined();
  });

  it('resolves a relative config path against the working folder', () => {
    const rel = path.relative(process.cwd(), fixture('fisco-node'));
    expect(loadSecurityConfig(rel).configPath).toBe(fixture('fisco-node'));
  });
});

describe('parseSecurityConfig semantics (as FISCO SecurityConfig::loadSecurityConfig)', () => {
  const parse = (security: string, extra = ''): SecurityConfig =>
    parseSecurityConfig(`[chain]\nsm_crypto=true\n[security]\n${security}\n${extra}`, { baseDir: '/node' });

  it('defaults: private_key_path=node.pem (FISCO code default), HSM off, no password', () => {
    const cfg = parse('');
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: false,
      hsmLibPath: '/usr/local/lib/libgmt0018.so',
      password: '',
      privateKeyPath: '/node/node.pem',
    });
  });

  it('an empty [security] section is still a [security] section', () => {
    expect(parseSecurityConfig('[security]\n[log]\nenable=true\n', { baseDir: '/n' }).privateKeyPath).toBe(
      '/n/node.pem',
    );
  });

  it.each([
    ['enable_hsm=true', true],
    ['enable_hsm=1', true],
    ['enable_hsm=false', false],
    ['enable_hsm=0', false],
    ['kms_type=HSM', true],
    ['kms_type=hsm', true],
    ['kms_type=Hsm\nenable_hsm=false', true],
    ['kms_type=LEGACY\nenable_hsm=true', true],
    ['kms_type=legacy', false],
    ['kms_type=LEGACY\nenable_hsm=false', false],
  ])('%j → enableHsm=%s', (lines, expected) => {
    const cfg = parse(`${lines}\nkey_index=1`);
    expect(cfg.enableHsm).toBe(expected);
  });

  it("key_id is accepted for key_index (the spelling of FISCO's HSM tutorial)", () => {
    const cfg = parse('enable_hsm=true\nkey_id=7');
    expect(cfg.keyIndex).toBe(7);
    expect(cfg.encKeyIndex).toBe(7);
  });

  it('enc_key_index defaults to key_index and can differ', () => {
    expect(parse('enable_hsm=true\nkey_index=3').encKeyIndex).toBe(3);
    expect(parse('enable_hsm=true\nkey_index=3\nenc_key_index=4').encKeyIndex).toBe(4);
  });

  it('accepts key_index 0, +5, 007 and the largest C int', () => {
    expect(parse('enable_hsm=true\nkey_index=0').keyIndex).toBe(0);
    expect(parse('enable_hsm=true\nkey_index=+5').keyIndex).toBe(5);
    expect(parse('enable_hsm=true\nkey_index=007').keyIndex).toBe(7);
    expect(parse('enable_hsm=true\nkey_index=2147483647').keyIndex).toBe(2147483647);
  });

  it('returns a validated key_index even with the HSM off', () => {
    expect(parse('enable_hsm=false\nkey_index=9').keyIndex).toBe(9);
  });

  it('ignores unknown keys in [security] and all other sections', () => {
    const cfg = parse('checkpoint_timeout=3000\nKey_Index=oops\nenable_hsm=true\nkey_index=1', '[p2p]\nx=whatever\n');
    expect(cfg.keyIndex).toBe(1);
  });

  it('keeps quotes and inner spaces of the password', () => {
    expect(parse('password = "a b" ').password).toBe('"a b"');
  });

  it('[storage_security] enable=false, or absent, changes nothing', () => {
    expect(parse('', '[storage_security]\nenable=false\n').enableHsm).toBe(false);
  });

  it('[storage_security] enable=true is fine with the HSM on (key in the card)', () => {
    const cfg = parse(
      'enable_hsm=true\nkey_index=1',
      '[storage_security]\nenable=true\nkey_center_url=127.0.0.1:8150\ncipher_data_key=ab12\n',
    );
    expect(cfg.enableHsm).toBe(true);
  });

  it('returns configPath and derives baseDir from it when baseDir is not given', () => {
    const cfg = parseSecurityConfig('[security]\nprivate_key_path=conf/node.pem\n', {
      configPath: '/srv/node0/config.ini',
    });
    expect(cfg.configPath).toBe('/srv/node0/config.ini');
    expect(cfg.privateKeyPath).toBe('/srv/node0/conf/node.pem');
  });

  it('resolves against process.cwd() without baseDir and configPath', () => {
    const cfg = parseSecurityConfig('[security]\nprivate_key_path=conf/node.pem\n');
    expect(cfg.privateKeyPath).toBe(path.resolve(process.cwd(), 'conf/node.pem'));
    expect(cfg.configPath).toBeUndefined();
  });
});

describe('path resolution', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gmt0018-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (security: string): string => {
    const file = path.join(dir, 'node0', 'config.ini');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `[p2p]\nlisten_port=30300\n[security]\n${security}\npassword=S3cr3t#;pw\n`);
    return file;
  };

  it('private_key_path=conf/node.pem → <folder of config.ini>/conf/node.pem', () => {
    const cfg = loadSecurityConfig(write('private_key_path=conf/node.pem'));
    expect(cfg.privateKeyPath).toBe(path.join(dir, 'node0', 'conf', 'node.pem'));
  });

  it('../ and ./ are resolved', () => {
    const cfg = loadSecurityConfig(write('private_key_path=../keys/./node.pem'));
    expect(cfg.privateKeyPath).toBe(path.join(dir, 'keys', 'node.pem'));
  });

  it('hsm_lib_path=./lib/libsdf.so → resolved against the folder of config.ini', () => {
    const cfg = loadSecurityConfig(write('enable_hsm=true\nkey_index=1\nhsm_lib_path=./lib/libsdf.so'));
    expect(cfg.hsmLibPath).toBe(path.join(dir, 'node0', 'lib', 'libsdf.so'));
  });

  it('absolute paths are kept exactly as written', () => {
    const cfg = loadSecurityConfig(
      write(
        'enable_hsm=true\nkey_index=1\nhsm_lib_path=/opt/card//lib/../libsdf.so\nprivate_key_path=/etc/node/node.pem',
      ),
    );
    expect(cfg.hsmLibPath).toBe('/opt/card//lib/../libsdf.so');
    expect(cfg.privateKeyPath).toBe('/etc/node/node.pem');
  });

  it('the default hsm_lib_path is absolute and kept', () => {
    expect(loadSecurityConfig(write('enable_hsm=true\nkey_index=1')).hsmLibPath).toBe('/usr/local/lib/libgmt0018.so');
  });

  it('a bare library file name is left to the dynamic loader search, as dlopen does for FISCO', () => {
    const cfg = loadSecurityConfig(write('enable_hsm=true\nkey_index=1\nhsm_lib_path=libswsds.so'));
    expect(cfg.hsmLibPath).toBe('libswsds.so');
  });
});

describe('createSecurityConfig', () => {
  it('builds the redacting object from plain fields, defaulting encKeyIndex', () => {
    const cfg = createSecurityConfig({
      enableHsm: true,
      hsmLibPath: '/lib/x.so',
      keyIndex: 2,
      password: 'S3cr3t#;pw',
      privateKeyPath: '/k.pem',
    });
    expect(cfg.password).toBe('S3cr3t#;pw');
    expect(cfg.encKeyIndex).toBe(2);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('copies from another config, password included when passed explicitly', () => {
    const a = createSecurityConfig({
      enableHsm: true,
      hsmLibPath: '/lib/x.so',
      keyIndex: 2,
      password: 'S3cr3t#;pw',
      privateKeyPath: '/k.pem',
    });
    expect(createSecurityConfig(a).password).toBe('S3cr3t#;pw');
    const b = createSecurityConfig({ ...a, password: a.password, keyIndex: 5, encKeyIndex: 5 });
    expect(b.keyIndex).toBe(5);
    expect(b.password).toBe('S3cr3t#;pw');
  });

  it.each([
    [{ enableHsm: 'yes' }, TypeError],
    [{ password: 42 }, TypeError],
    [{ hsmLibPath: 42 }, TypeError],
    [{ keyIndex: 1.5 }, TypeError],
    [{ keyIndex: -1 }, RangeError],
    [{ encKeyIndex: 2 ** 31 }, RangeError],
  ])('rejects bad fields %j', (bad, type) => {
    const base = { enableHsm: false, hsmLibPath: '/x', password: 'S3cr3t#;pw', privateKeyPath: '/k' };
    expect(() => createSecurityConfig({ ...base, ...bad } as unknown as SecurityConfig)).toThrow(type);
    try {
      createSecurityConfig({ ...base, ...bad } as unknown as SecurityConfig);
    } catch (err) {
      expect((err as Error).message).not.toContain('S3cr3t');
    }
  });
});
