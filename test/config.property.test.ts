import fc from 'fast-check';
import { ConfigError, parseIni, parseSecurityConfig } from '../src/config';

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
