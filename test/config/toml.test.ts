import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, loadSecurityConfig, parseSecurityConfig, type SecurityConfig } from '../../src/config';
import { generatePrivateKey } from '../../src/sm2';
import { javaSdkToml, writeJavaSdkApp } from '../helpers/java-sdk-app';
import { expectNoSecret } from '../helpers/secrets';

const PASSWORD = 'Hsm#S3cret!';
const HSM_ON = `useSMCrypto = "true"
enableHsm = "true"
hsmLibPath = "/usr/local/lib/libswsds.so"
hsmKeyIndex = "1"
hsmPassword = "${PASSWORD}"`;
const SM_SOFTWARE = 'useSMCrypto = "true"';

const fieldsOf = (cfg: SecurityConfig): Record<string, unknown> => ({ ...cfg, password: cfg.password });

const folders: string[] = [];
afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function app(opts: Parameters<typeof writeJavaSdkApp>[0]) {
  const written = writeJavaSdkApp(opts);
  folders.push(written.dir);
  return written;
}

/** Runs `fn` with the working directory at `dir`, as a java-sdk application started there. */
function inDir<T>(dir: string, fn: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(before);
  }
}

/** The ConfigError `fn` throws, checked never to show the password. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expectNoSecret(error, [PASSWORD]);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const parse = (cryptoMaterial: string, account = '') =>
  parseSecurityConfig(javaSdkToml({ cryptoMaterial, account }), {
    configPath: '/app/conf/config.toml',
    baseDir: '/app',
  });

describe('a java-sdk config.toml with the HSM on', () => {
  it('reads the card key: library, index and password from [cryptoMaterial]', () => {
    const { configPath } = app({ cryptoMaterial: HSM_ON });
    const cfg = loadSecurityConfig(configPath);
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: true,
      hsmLibPath: '/usr/local/lib/libswsds.so',
      keyIndex: 1,
      encKeyIndex: 1,
      password: PASSWORD,
      privateKeyPath: '',
      configPath,
    });
    // [network], [[amop]] (with its own password) and [threadPool] are known and read past quietly
    expect(cfg.warnings).toBeUndefined();
    expectNoSecret(cfg, [PASSWORD]);
    expect(JSON.stringify(cfg)).toContain('"password":"<redacted>"');
    expect(inspect(cfg)).not.toContain(PASSWORD);
  });

  it('resolves a relative hsmLibPath against the working directory; a bare name is left to dlopen', () => {
    expect(parse(HSM_ON.replace('/usr/local/lib/libswsds.so', 'lib/libsdf.so')).hsmLibPath).toBe('/app/lib/libsdf.so');
    expect(parse(HSM_ON.replace('/usr/local/lib/libswsds.so', 'libsdf.so')).hsmLibPath).toBe('libsdf.so');
  });

  it('takes an HSM config without useSMCrypto as SM2 (a card holds SM2 keys only)', () => {
    expect(parse(HSM_ON.replace('useSMCrypto = "true"\n', '')).keyIndex).toBe(1);
  });

  it.each(['hsmLibPath', 'hsmKeyIndex', 'hsmPassword'])('refuses it without %s (CONFIG_MISSING_KEY)', (key) => {
    const cryptoMaterial = HSM_ON.split('\n')
      .filter((line) => !line.startsWith(key))
      .join('\n');
    const error = configErrorOf(() => parse(cryptoMaterial));
    expect(error).toMatchObject({
      code: 'CONFIG_MISSING_KEY',
      file: '/app/conf/config.toml',
      line: 1,
      section: 'cryptoMaterial',
      key,
    });
    expect(error.message).toContain(`${key} is not set`);
  });

  it.each([
    ['"0"', 'CONFIG_OUT_OF_RANGE', /is 0 \(expected 1\.\.2147483647/],
    ['"abc"', 'CONFIG_BAD_INTEGER', /"abc" is not a key index/],
    ['"-1"', 'CONFIG_BAD_INTEGER', /not a key index/],
    ['"1.5"', 'CONFIG_BAD_INTEGER', /not a key index/],
    ['"2147483648"', 'CONFIG_OUT_OF_RANGE', /too large/],
    ['1', 'CONFIG_BAD_VALUE', /is a TOML number, not a string/],
  ])('refuses hsmKeyIndex = %s (%s)', (value, code, message) => {
    const error = configErrorOf(() => parse(HSM_ON.replace('hsmKeyIndex = "1"', `hsmKeyIndex = ${value}`)));
    expect(error).toMatchObject({ code, key: 'hsmKeyIndex', section: 'cryptoMaterial', line: 7 });
    expect(error.message).toMatch(message);
  });

  it.each([
    ['enableHsm = "yes"', 'CONFIG_BAD_BOOLEAN', 'enableHsm'],
    ['enableHsm = true', 'CONFIG_BAD_VALUE', 'enableHsm'],
    ['hsmLibPath = ""', 'CONFIG_BAD_VALUE', 'hsmLibPath'],
  ])('refuses %s', (line, code, key) => {
    const [name] = line.split(' ');
    const cryptoMaterial = HSM_ON.split('\n')
      .map((l) => (l.startsWith(`${name} `) ? line : l))
      .join('\n');
    expect(configErrorOf(() => parse(cryptoMaterial))).toMatchObject({ code, key });
  });

  it('never shows the password, not even when its value is of the wrong type or breaks the syntax', () => {
    const wrongType = configErrorOf(() => parse(HSM_ON.replace(`"${PASSWORD}"`, `["${PASSWORD}"]`)));
    expect(wrongType).toMatchObject({ code: 'CONFIG_BAD_VALUE', key: 'hsmPassword', line: 8 });
    const broken = configErrorOf(() => parse(HSM_ON.replace(`"${PASSWORD}"`, `"${PASSWORD}`)));
    expect(broken).toMatchObject({ code: 'CONFIG_SYNTAX', file: '/app/conf/config.toml', line: 8 });
    expect(broken.message).toMatch(/^\/app\/conf\/config\.toml:8: not valid TOML at column \d+: /);
    expect(broken.cause).toBeUndefined();
  });

  it('refuses an account file next to the card key', () => {
    const error = configErrorOf(() => parse(HSM_ON, 'accountFilePath = "conf/account.pem"'));
    expect(error).toMatchObject({ code: 'CONFIG_UNSUPPORTED', section: 'account', key: 'accountFilePath' });
    expect(parse(HSM_ON, 'accountFileFormat = "HSM"\naccountAddress = "0xabc"').keyIndex).toBe(1);
  });
});

describe('a java-sdk config.toml with a software account', () => {
  const privateKey = generatePrivateKey();

  it('reads accountFilePath relative to the working directory, as the java-sdk does', () => {
    const { dir, configPath } = app({
      cryptoMaterial: SM_SOFTWARE,
      account: 'accountFilePath = "conf/account.pem"\naccountFileFormat = "pem"',
      accountKey: { privateKey, file: 'conf/account.pem' },
    });
    const cfg = inDir(dir, () => loadSecurityConfig(configPath));
    expect(fieldsOf(cfg)).toEqual({
      enableHsm: false,
      hsmLibPath: '/usr/local/lib/libgmt0018.so',
      password: '',
      privateKeyPath: join(dir, 'conf', 'account.pem'),
      configPath,
    });
    // from another working directory the same file is not found, and the message says why
    const error = configErrorOf(() => inDir(join(dir, 'conf'), () => loadSecurityConfig(configPath)));
    expect(error).toMatchObject({ code: 'CONFIG_KEY_FILE', key: 'accountFilePath', section: 'account' });
    expect(error.message).toContain(`working directory ${join(dir, 'conf')}`);
  });

  it('finds the account by accountAddress in keyStoreDir/gm/', () => {
    const address = '0x2c6a1d5b6b9cdc4a1b3a2e0e5f3b0b1c2d3e4f50';
    const { dir, configPath } = app({
      cryptoMaterial: SM_SOFTWARE,
      account: `accountAddress = "${address}"`,
      accountKey: { privateKey, file: `account/gm/${address}.pem` },
    });
    expect(inDir(dir, () => loadSecurityConfig(configPath)).privateKeyPath).toBe(
      join(dir, 'account', 'gm', `${address}.pem`),
    );
  });

  it('refuses a p12 account file, naming the key and the file', () => {
    const error = configErrorOf(() => parse(SM_SOFTWARE, 'accountFileFormat = "p12"\naccountFilePath = "conf/a.p12"'));
    expect(error).toMatchObject({ code: 'CONFIG_UNSUPPORTED', key: 'accountFileFormat', line: 19 });
    expect(error.message).toContain('/app/conf/a.p12 is PKCS#12');
  });

  it.each([
    ['useSMCrypto = "false"', 'is "false"'],
    ['', 'is not set, which the java-sdk reads as "false"'],
  ])('refuses ECDSA (%s): the software signer is SM2 only', (cryptoMaterial, what) => {
    const error = configErrorOf(() => parse(cryptoMaterial, 'accountFilePath = "/k.pem"'));
    expect(error).toMatchObject({ code: 'CONFIG_UNSUPPORTED', key: 'useSMCrypto', section: 'cryptoMaterial' });
    expect(error.message).toContain(what);
  });

  it('refuses a config without an account (the java-sdk would make a random key)', () => {
    expect(configErrorOf(() => parse(SM_SOFTWARE))).toMatchObject({
      code: 'CONFIG_MISSING_KEY',
      key: 'accountFilePath',
    });
  });

  it('refuses an account file format other than pem and p12', () => {
    const error = configErrorOf(() => parse(SM_SOFTWARE, 'accountFileFormat = "jks"\naccountFilePath = "/k"'));
    expect(error).toMatchObject({ code: 'CONFIG_BAD_VALUE', key: 'accountFileFormat' });
  });
});

describe('unknown keys of a config.toml', () => {
  it('are reported with a did-you-mean, file and line; other java-sdk sections are not checked', () => {
    const text = javaSdkToml({
      cryptoMaterial: `${HSM_ON}\nenableHSM = "true"\nhsmKeyIdx = "2"\nfavouriteColour = "${PASSWORD}"`,
      account: 'acountAddress = ""',
    }).replace('[threadPool]', '[cryptoMaterail]\nx = "1"\n\n[threadPool]');
    const cfg = parseSecurityConfig(text, { configPath: '/app/conf/config.toml' });
    expect(cfg.warnings?.map((w) => [w.message, w.line])).toEqual([
      ['[cryptoMaterail] is not a known section (did you mean cryptoMaterial?)', 28],
      ['[cryptoMaterial] enableHSM is not a known key (did you mean enableHsm?)', 9],
      ['[cryptoMaterial] hsmKeyIdx is not a known key (did you mean hsmKeyIndex?)', 10],
      ['[cryptoMaterial] favouriteColour is not a known key', 11],
      ['[account] acountAddress is not a known key (did you mean accountAddress?)', 26],
    ]);
    expect(cfg.warnings?.[1]).toMatchObject({
      section: 'cryptoMaterial',
      key: 'enableHSM',
      file: '/app/conf/config.toml',
    });
    expectNoSecret(cfg, [PASSWORD]);
  });
});

describe('which reader a file gets', () => {
  it('reads a TOML file by its headers whatever its name', () => {
    const { dir } = app({ cryptoMaterial: HSM_ON });
    const conf = join(dir, 'app.conf');
    writeFileSync(conf, javaSdkToml({ cryptoMaterial: HSM_ON }));
    expect(loadSecurityConfig(conf).keyIndex).toBe(1);
    expect(parseSecurityConfig(javaSdkToml({ cryptoMaterial: HSM_ON })).keyIndex).toBe(1);
  });

  it('still reads a config.ini as one', () => {
    expect(parseSecurityConfig('[security]\nenable_hsm=true\nkey_index=4\n').keyIndex).toBe(4);
  });

  it('refuses a .toml that is not UTF-8', () => {
    const { dir } = app({ cryptoMaterial: HSM_ON });
    const file = join(dir, 'latin1.toml');
    writeFileSync(file, Buffer.from('[cryptoMaterial]\nhsmPassword = "caf\xe9"\n', 'latin1'));
    expect(configErrorOf(() => loadSecurityConfig(file))).toMatchObject({ code: 'CONFIG_SYNTAX', file });
  });
});
