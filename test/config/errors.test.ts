import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, ConfigErrorCodes, loadSecurityConfig, parseSecurityConfig } from '../../src/config';

const PASSWORD = 'S3cr3t#;pw';
const FILE = '/srv/fisco/node0/config.ini';

/**
 * A node config whose [security] lines start at line 4; every one carries the password line
 * (first, at line 4) unless the case replaces it.
 */
function configText(securityLines: string[], opts: { password?: boolean; after?: string } = {}): string {
  const lines = ['[p2p]', '    listen_port=30300', '[security]'];
  if (opts.password !== false) lines.push(`    password = ${PASSWORD}`);
  lines.push(...securityLines.map((l) => `    ${l}`));
  return `${lines.join('\n')}\n${opts.after ?? '[log]\n    enable=true\n'}`;
}

interface Case {
  name: string;
  text: string;
  code: string;
  line?: number;
  key?: string;
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'missing [security]',
    text: `[p2p]\nlisten_port=30300\n[secutiry]\npassword = ${PASSWORD}\n`,
    code: 'CONFIG_MISSING_SECTION',
    message: /no \[security\] section/,
  },
  { name: 'line without =', text: configText(['enable_hsm true']), code: 'CONFIG_SYNTAX', line: 5 },
  {
    name: 'password line without =',
    text: configText([`password ${PASSWORD}`], { password: false }),
    code: 'CONFIG_SYNTAX',
    line: 4,
  },
  {
    name: 'password continued on the next line',
    text: configText(['key_index=1', PASSWORD]),
    code: 'CONFIG_SYNTAX',
    line: 6,
  },
  { name: 'empty key', text: configText([`= ${PASSWORD}`]), code: 'CONFIG_SYNTAX', line: 5 },
  {
    name: 'unterminated section header',
    text: configText(['key_index=1'], { after: `[${PASSWORD}\n` }),
    code: 'CONFIG_SYNTAX',
    line: 6,
  },
  {
    name: 'empty section name',
    text: configText(['key_index=1'], { after: '[]\nx=1\n' }),
    code: 'CONFIG_SYNTAX',
    line: 6,
  },
  {
    name: 'duplicate key password',
    text: configText(['key_index=1', `password = ${PASSWORD}`]),
    code: 'CONFIG_DUPLICATE_KEY',
    line: 6,
    key: 'password',
    message: /\[security\] password: duplicate key, first set on line 4/,
  },
  {
    name: 'duplicate key key_index',
    text: configText(['key_index=1', 'key_index=2']),
    code: 'CONFIG_DUPLICATE_KEY',
    line: 6,
    key: 'key_index',
  },
  {
    name: 'duplicate section',
    text: configText(['key_index=1'], { after: '[security]\n    enable_hsm=true\n' }),
    code: 'CONFIG_DUPLICATE_SECTION',
    line: 6,
  },
  { name: 'UTF-8 BOM', text: `\ufeff${configText([])}`, code: 'CONFIG_SYNTAX', line: 1, message: /byte-order mark/ },
  {
    name: 'enable_hsm=TRUE',
    text: configText(['enable_hsm=TRUE', 'key_index=1']),
    code: 'CONFIG_BAD_BOOLEAN',
    line: 5,
    key: 'enable_hsm',
    message: /\[security\] enable_hsm: "TRUE" is not a boolean \(expected true, false, 1 or 0/,
  },
  {
    name: 'enable_hsm empty',
    text: configText(['enable_hsm=']),
    code: 'CONFIG_BAD_BOOLEAN',
    line: 5,
    key: 'enable_hsm',
  },
  {
    name: 'key_index=4.3',
    text: configText(['enable_hsm=true', 'key_index=4.3']),
    code: 'CONFIG_BAD_INTEGER',
    line: 6,
    key: 'key_index',
    message: /:6: \[security\] key_index: "4\.3" is not an integer \(expected decimal digits, e\.g\. key_index=1\)$/,
  },
  {
    name: 'key_index=0x2b',
    text: configText(['enable_hsm=true', 'key_index=0x2b']),
    code: 'CONFIG_BAD_INTEGER',
    line: 6,
    key: 'key_index',
    message: /hexadecimal/,
  },
  {
    name: 'key_index empty',
    text: configText(['enable_hsm=true', 'key_index=']),
    code: 'CONFIG_BAD_INTEGER',
    line: 6,
    key: 'key_index',
    message: /is empty/,
  },
  {
    name: 'key_index=-1',
    text: configText(['enable_hsm=true', 'key_index=-1']),
    code: 'CONFIG_OUT_OF_RANGE',
    line: 6,
    key: 'key_index',
    message: /negative/,
  },
  {
    name: 'key_index=2147483648 (FISCO reads a C int)',
    text: configText(['enable_hsm=true', 'key_index=2147483648']),
    code: 'CONFIG_OUT_OF_RANGE',
    line: 6,
    key: 'key_index',
    message: /expected 0\.\.2147483647: FISCO BCOS reads it as a C int/,
  },
  {
    name: 'key_index bad with the HSM off',
    text: configText(['enable_hsm=false', 'key_index=4.3']),
    code: 'CONFIG_BAD_INTEGER',
    line: 6,
    key: 'key_index',
  },
  {
    name: 'key_id bad',
    text: configText(['enable_hsm=true', 'key_id=x']),
    code: 'CONFIG_BAD_INTEGER',
    line: 6,
    key: 'key_id',
  },
  {
    name: 'key_index and key_id both',
    text: configText(['enable_hsm=true', 'key_id=43', 'key_index=43']),
    code: 'CONFIG_CONFLICT',
    line: 7,
    key: 'key_index',
    message: /both key_id \(line 6\) and key_index \(line 7\) are set/,
  },
  {
    name: 'HSM on (enable_hsm) without key_index',
    text: configText(['enable_hsm=true']),
    code: 'CONFIG_MISSING_KEY',
    key: 'key_index',
    message: /\[security\] key_index: missing: the HSM is on \(enable_hsm=true\).*key_id=N/,
  },
  {
    name: 'HSM on (kms_type) without key_index',
    text: configText(['kms_type=HSM']),
    code: 'CONFIG_MISSING_KEY',
    key: 'key_index',
    message: /kms_type=HSM/,
  },
  {
    name: 'kms_type=CLOUDKMS',
    text: configText(['kms_type=CLOUDKMS', 'cloud_kms_type=AWS']),
    code: 'CONFIG_UNSUPPORTED',
    line: 5,
    key: 'kms_type',
    message: /CLOUDKMS is not supported/,
  },
  {
    name: 'kms_type=BCOSKMS',
    text: configText(['kms_type=bcoskms', 'enable_hsm=true', 'key_index=1']),
    code: 'CONFIG_UNSUPPORTED',
    line: 5,
    key: 'kms_type',
    message: /BCOSKMS/,
  },
  {
    name: 'kms_type garbage',
    text: configText(['kms_type=SOFTHSM']),
    code: 'CONFIG_BAD_VALUE',
    line: 5,
    key: 'kms_type',
    message: /"SOFTHSM" is not a known kms_type \(expected LEGACY or HSM/,
  },
  { name: 'kms_type empty', text: configText(['kms_type=']), code: 'CONFIG_BAD_VALUE', line: 5, key: 'kms_type' },
  {
    name: 'kms_type with an inline comment copied from the docs',
    text: configText(['kms_type=HSM # use the cipher card', 'key_index=1']),
    code: 'CONFIG_BAD_VALUE',
    line: 5,
    key: 'kms_type',
    message: /no inline comments/,
  },
  {
    name: 'enc_key_index bad',
    text: configText(['enable_hsm=true', 'key_index=1', 'enc_key_index=two']),
    code: 'CONFIG_BAD_INTEGER',
    line: 7,
    key: 'enc_key_index',
  },
  {
    name: 'enc_key_index negative',
    text: configText(['enable_hsm=true', 'key_index=1', 'enc_key_index=-2']),
    code: 'CONFIG_OUT_OF_RANGE',
    line: 7,
    key: 'enc_key_index',
  },
  {
    name: 'empty hsm_lib_path with the HSM on',
    text: configText(['enable_hsm=true', 'key_index=1', 'hsm_lib_path=']),
    code: 'CONFIG_BAD_VALUE',
    line: 7,
    key: 'hsm_lib_path',
    message: /is empty/,
  },
  {
    name: 'empty private_key_path with the HSM off',
    text: configText(['private_key_path=']),
    code: 'CONFIG_BAD_VALUE',
    line: 5,
    key: 'private_key_path',
  },
  {
    name: '[storage_security] enable=true with the HSM off (encrypted node key)',
    text: configText([], {
      after: '[storage_security]\nenable=true\nkey_center_url=127.0.0.1:8150\ncipher_data_key=ab\n',
    }),
    code: 'CONFIG_UNSUPPORTED',
    line: 6,
    key: 'enable',
    message: /\[storage_security\] enable: disk encryption is on with the HSM off/,
  },
  {
    name: '[storage_security] enable=true without cipher_data_key',
    text: configText(['enable_hsm=true', 'key_index=1'], {
      after: '[storage_security]\nenable=true\nkey_center_url=127.0.0.1:8150\n',
    }),
    code: 'CONFIG_MISSING_KEY',
    key: 'cipher_data_key',
  },
  {
    name: '[storage_security] enable=yes',
    text: configText([], { after: '[storage_security]\nenable=yes\n' }),
    code: 'CONFIG_BAD_BOOLEAN',
    line: 6,
    key: 'enable',
  },
];

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function expectNoPassword(err: ConfigError): void {
  for (const text of [
    err.message,
    String(err),
    err.stack ?? '',
    inspect(err, { showHidden: true, depth: 10 }),
    JSON.stringify(err),
  ]) {
    expect(text).not.toContain('S3cr3t');
    expect(text).not.toContain('#;pw');
  }
}

describe('ConfigError table', () => {
  it('covers every code but CONFIG_FILE_UNREADABLE and CONFIG_KEY_FILE (tested below / by the signer)', () => {
    const covered = new Set(cases.map((c) => c.code));
    for (const code of Object.values(ConfigErrorCodes)) {
      if (code === 'CONFIG_FILE_UNREADABLE' || code === 'CONFIG_KEY_FILE') continue;
      expect(covered).toContain(code);
    }
  });

  it.each(cases)('$name → $code', ({ text, code, line, key, message }) => {
    expect(text).toContain(PASSWORD);
    const err = catchConfigError(() => parseSecurityConfig(text, { configPath: FILE }));
    expect(err.code).toBe(code);
    expect(err.file).toBe(FILE);
    expect(err.line).toBe(line);
    if (key !== undefined) expect(err.key).toBe(key);
    expect(err.message.startsWith(line === undefined ? `${FILE}: ` : `${FILE}:${line}: `)).toBe(true);
    if (message !== undefined) expect(err.message).toMatch(message);
    expectNoPassword(err);
  });
});

describe('several problems', () => {
  it.each([
    [['key_index=x', 'enable_hsm=TRUE'], 'CONFIG_BAD_INTEGER', 5],
    [['enable_hsm=TRUE', 'key_index=x'], 'CONFIG_BAD_BOOLEAN', 5],
    [['password=again', 'kms_type=nope'], 'CONFIG_DUPLICATE_KEY', 5],
  ])('%j: the first bad line is reported', (lines, code, line) => {
    const err = catchConfigError(() => parseSecurityConfig(configText(lines), { configPath: FILE }));
    expect(err.code).toBe(code);
    expect(err.line).toBe(line);
  });
});

describe('unreadable files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gmt0018-config-err-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('missing file → CONFIG_FILE_UNREADABLE with ENOENT', () => {
    const file = path.join(dir, 'nope', 'config.ini');
    const err = catchConfigError(() => loadSecurityConfig(file));
    expect(err.code).toBe('CONFIG_FILE_UNREADABLE');
    expect(err.file).toBe(file);
    expect(err.line).toBeUndefined();
    expect(err.message).toContain('ENOENT');
    expect(err.message.startsWith(`${file}: `)).toBe(true);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('directory given as the file → CONFIG_FILE_UNREADABLE with EISDIR', () => {
    const sub = path.join(dir, 'node0');
    mkdirSync(sub);
    const err = catchConfigError(() => loadSecurityConfig(sub));
    expect(err.code).toBe('CONFIG_FILE_UNREADABLE');
    expect(err.file).toBe(sub);
    expect(err.message).toContain('EISDIR');
  });

  it('errors from a loaded file carry its absolute path', () => {
    const file = path.join(dir, 'bad.ini');
    writeFileSync(file, configText(['enable_hsm=TRUE']));
    const err = catchConfigError(() => loadSecurityConfig(path.relative(process.cwd(), file)));
    expect(err.file).toBe(file);
    expect(err.line).toBe(5);
    expectNoPassword(err);
  });

  it('a password that is not valid UTF-8 → CONFIG_BAD_VALUE, not a silently different password', () => {
    const file = path.join(dir, 'latin1.ini');
    const text = configText(['enable_hsm=true', 'key_index=1'], { password: false }).replace(
      '[security]\n',
      '[security]\npassword = S3cr3t#;pw\u00e9\n',
    );
    writeFileSync(file, Buffer.from(text, 'latin1'));
    const err = catchConfigError(() => loadSecurityConfig(file));
    expect(err.code).toBe('CONFIG_BAD_VALUE');
    expect(err.key).toBe('password');
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/not valid UTF-8/);
    expectNoPassword(err);
  });

  it('invalid UTF-8 in a comment does not matter', () => {
    const file = path.join(dir, 'gbk-comment.ini');
    const text = configText(['enable_hsm=true', 'key_index=1']);
    writeFileSync(file, Buffer.concat([Buffer.from('; \xc3\xa9\xff comment\n', 'latin1'), Buffer.from(text)]));
    expect(loadSecurityConfig(file).password).toBe(PASSWORD);
  });
});
