import fc from 'fast-check';
import { ConfigError, parseIni, parseSecurityConfig } from '../../src/config';
import { trimIni } from '../../src/config/ini';
import { expectNoSecret } from '../helpers/secrets';

/** Printable ASCII (0x20..0x7e): includes #, ;, =, quotes, brackets and spaces. */
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 40,
});
/** A password as it can be written on one line: no white space at either end (the parser trims). */
const password = printable.filter((s) => s.trim() === s && s.length > 0);
const padding = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });

describe('property: any one-line printable password round-trips', () => {
  it('password = <pw> reads back exactly, in LF and CRLF files', () => {
    fc.assert(
      fc.property(password, padding, padding, padding, fc.boolean(), (pw, a, b, c, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const text = [
          '[p2p]',
          'listen_port=30300',
          '[security]',
          `${a}password${b}=${c}${pw}${a}`,
          'enable_hsm=true',
          'key_index=1',
          '',
        ].join(eol);
        const cfg = parseSecurityConfig(text, { baseDir: '/n' });
        expect(cfg.password).toBe(pw);
      }),
      { numRuns: 500 },
    );
  });
});

/** Fragments that reach every branch of the INI reader. */
const lineFragment = fc.constantFrom(
  '[',
  ']',
  '=',
  ';',
  '#',
  ' ',
  '\t',
  '\r',
  '\n',
  '\ufeff',
  'a',
  'b',
  'security',
  'key_index',
  'enable_hsm',
  'password',
  'kms_type',
  'true',
  'HSM',
  '1',
  '-',
  'x',
  '\u00a0',
  '"',
);
const iniish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(lineFragment, { maxLength: 80 }).map((parts) => parts.join('')),
);

describe('property: the readers throw nothing but ConfigError', () => {
  it('parseIni on random text', () => {
    fc.assert(
      fc.property(iniish, (text) => {
        try {
          parseIni(text, 'r.ini');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  const securityLine = fc.oneof(
    fc.constantFrom(
      'enable_hsm=true',
      'enable_hsm=false',
      'enable_hsm=TRUE',
      'kms_type=HSM',
      'kms_type=legacy',
      'kms_type=CLOUDKMS',
      'kms_type=nope',
      'key_index=1',
      'key_index=-1',
      'key_index=4.3',
      'key_id=2',
      'enc_key_index=x',
      'enc_key_index=3',
      'hsm_lib_path=',
      'hsm_lib_path=./l.so',
      'private_key_path=',
      'private_key_path=conf/node.pem',
      '[security]',
      '[storage_security]',
      'enable=true',
      'key_center_url=1.2.3.4:8150',
      'cipher_data_key=ab',
      '; comment',
      'junk',
      '= v',
      '[open',
    ),
    iniish.map((s) => s.replace(/\n/g, '')),
  );

  it('parseSecurityConfig on random [security] content never throws anything else, nor leaks the password', () => {
    fc.assert(
      fc.property(fc.array(securityLine, { maxLength: 12 }), password, fc.nat(12), (lines, pw, at) => {
        const secret = `PW~${pw}~`;
        const body = [...lines];
        body.splice(Math.min(at, body.length), 0, `password = ${secret}`);
        const text = `[p2p]\nlisten_port=1\n[security]\n${body.join('\n')}\n`;
        try {
          const cfg = parseSecurityConfig(text, { configPath: '/n/config.ini' });
          expect(JSON.stringify(cfg)).not.toContain(secret);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).not.toContain('PW~');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('property: a password never shows, whatever the line endings and control characters', () => {
  const printableChar = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
  /** Every control character an editor or a terminal may treat specially, but not LF. */
  const controlChar = fc.constantFrom(
    '\x00',
    '\x01',
    '\x07',
    '\b',
    '\t',
    '\v',
    '\f',
    '\r',
    '\x1b',
    '\x7f',
    '\u0085',
    '\u009b',
    '\u2028',
    '\u2029',
  );
  const passwordChar = fc.oneof({ weight: 4, arbitrary: printableChar }, { weight: 1, arbitrary: controlChar });
  const randomText = fc.string({ unit: passwordChar, maxLength: 16 });
  /**
   * Random printable and control characters around a core no other line holds: the core shows
   * up in no message, inspection or walk, whole or cut by a stray line break.
   */
  const randomPassword = fc
    .tuple(randomText, fc.constantFrom('S3cr3t', 'hunter2', 'Pa55w0rd'), randomText)
    .map(([left, core, right]) => ({ password: `${left}${core}${right}`, core }));
  const lineEnd = fc.constantFrom('\n', '\r\n', '\r', '\n\r', '\r\r\n');
  const value = fc.oneof(
    fc.constantFrom('true', 'false', '1', 'yes', 'TRUE', 'HSM', 'hsm', 'LEGACY', '-1', '4.3', '0x2b', '', 'x'),
    fc.string({ unit: passwordChar, maxLength: 10 }),
  );
  const key = fc.constantFrom(
    'enable_hsm',
    'kms_type',
    'key_index',
    'key_id',
    'enc_key_index',
    'hsm_lib_path',
    'private_key_path',
    'hsm_profile',
    'hsm_ecc_field_bytes',
    'hsm_sign_with_alg_id',
    'remote_signer_url',
    'listen_port',
  );
  const otherLine = fc.oneof(
    fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
    fc.constantFrom('[security]', '[p2p]', '[storage_security]', '; comment', '# comment', 'junk', '[open', '= v', ''),
  );
  const config = fc.record({
    before: fc.array(otherLine, { maxLength: 6 }),
    after: fc.array(otherLine, { maxLength: 6 }),
    password: randomPassword,
    padding: fc.tuple(padding, padding),
    ends: fc.array(lineEnd, { minLength: 16, maxLength: 16 }),
  });

  it('no ConfigError message, and no util.inspect / JSON / walk of the config or the error, holds it', () => {
    fc.assert(
      fc.property(config, ({ before, after, password: { password: pw, core }, padding: [a, b], ends }) => {
        const passwordLine = `password${a}=${b}${pw}`;
        const lines = ['[security]', ...before, passwordLine, ...after];
        const text = lines.map((line, i) => line + (ends[i] as string)).join('');
        // The password as written, as the parser would trim it, and its core alone.
        const secrets = [...new Set([pw, trimIni(pw), core])];
        fc.pre(!lines.some((line) => line !== passwordLine && line.includes(core)));
        let shown: unknown;
        try {
          shown = parseSecurityConfig(text, { configPath: '/n/config.ini' });
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          shown = err;
        }
        expectNoSecret(shown, secrets);
      }),
      { numRuns: 400 },
    );
  });

  it('the case of the issue: a file with bare CR line endings, a bad value and the password', () => {
    const text = '[security]\renable_hsm = true\rkey_index=1\rpassword=S3cr3t!\r';
    let error: unknown;
    try {
      parseSecurityConfig(text, { configPath: '/n/config.ini' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'CONFIG_SYNTAX', line: 1 });
    expectNoSecret(error, ['S3cr3t!']);
  });
});
