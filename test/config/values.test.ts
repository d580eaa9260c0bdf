import { ConfigError, parseBoolean, parseUnsignedInt } from '../../src/config';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).code;
  }
  throw new Error('expected a throw');
}

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('%s → %s', (text, expected) => {
    expect(parseBoolean(text)).toBe(expected);
  });

  it.each(['TRUE', 'True', 'yes', 'on', 'no', '', ' true', '2', 'true;'])('rejects %j', (text) => {
    expect(codeOf(() => parseBoolean(text))).toBe('CONFIG_BAD_BOOLEAN');
  });

  it('names the key and shows the bad value', () => {
    expect(() => parseBoolean('TRUE', { file: 'c.ini', line: 3, section: 'security', key: 'enable_hsm' })).toThrow(
      'c.ini:3: [security] enable_hsm: "TRUE" is not a boolean (expected true, false, 1 or 0 in lower case, e.g. enable_hsm=true; FISCO BCOS would silently read it as the default)',
    );
  });

  it('describes a value with a control character instead of quoting it', () => {
    const site = { file: 'c.ini', line: 3, section: 'security', key: 'enable_hsm' };
    for (const [text, position] of [
      ['tr\x1bue', 3],
      ['true\tkey_index=1', 5],
      ['yes\u2028password=S3cr3t', 4],
      ['\u0085x', 1],
      ['x\x7f', 2],
    ] as const) {
      expect(() => parseBoolean(text, site)).toThrow(
        `c.ini:3: [security] enable_hsm: the value (not shown: it contains a control character at position ${position}) is not a boolean`,
      );
    }
    expect(() => parseUnsignedInt('1\v2', { key: 'key_index' })).toThrow(
      'key_index: the value (not shown: it contains a control character at position 2) is not an integer',
    );
  });

  it('does not show a secret value', () => {
    expect(() => parseBoolean('S3cr3t#;pw', { key: 'x', secret: true })).toThrow(
      /^x: the value \(not shown\) is not a boolean/,
    );
  });
});

describe('parseUnsignedInt', () => {
  it.each([
    ['0', 0],
    ['43', 43],
    ['+43', 43],
    ['0043', 43],
    ['-0', 0],
    ['4294967295', 4294967295],
    ['000000000000000000001', 1],
  ])('%s → %d', (text, expected) => {
    expect(parseUnsignedInt(text)).toBe(expected);
  });

  it.each(['', '4.3', '0x2b', '43abc', 'abc', ' 1', '1 ', '+', '-', '--1', '1e3', '١٢'])(
    'rejects %j as CONFIG_BAD_INTEGER',
    (text) => {
      expect(codeOf(() => parseUnsignedInt(text))).toBe('CONFIG_BAD_INTEGER');
    },
  );

  it.each(['-1', '-4294967295', '4294967296', '99999999999999999999999'])(
    'rejects %j as CONFIG_OUT_OF_RANGE',
    (text) => {
      expect(codeOf(() => parseUnsignedInt(text))).toBe('CONFIG_OUT_OF_RANGE');
    },
  );

  it('honours a smaller max and explains it', () => {
    expect(parseUnsignedInt('2147483647', {}, { max: 2147483647 })).toBe(2147483647);
    expect(() => parseUnsignedInt('2147483648', { key: 'k' }, { max: 2147483647, maxReason: 'why' })).toThrow(
      'k: "2147483648" is too large (expected 0..2147483647: why)',
    );
  });

  it('says what is expected, with the key in the example', () => {
    expect(() =>
      parseUnsignedInt('4.3', { file: 'config.ini', line: 12, section: 'security', key: 'key_index' }),
    ).toThrow(
      'config.ini:12: [security] key_index: "4.3" is not an integer (expected decimal digits, e.g. key_index=1)',
    );
  });
});
