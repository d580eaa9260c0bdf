import { ConfigError, parseIni, type IniDocument } from '../../src/config';

const value = (doc: IniDocument, section: string, key: string): string | undefined =>
  doc.sections.get(section)?.entries.get(key)?.value;

function syntaxError(text: string): ConfigError {
  try {
    parseIni(text, 'config.ini');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected parseIni to throw');
}

describe('parseIni: Boost.PropertyTree INI rules', () => {
  it('reads sections, keys and 1-based line numbers', () => {
    const doc = parseIni('[p2p]\nlisten_port=30300\n\n[security]\n  key_index = 1\n', 'x.ini');
    expect(doc.file).toBe('x.ini');
    expect([...doc.sections.keys()]).toEqual(['p2p', 'security']);
    expect(doc.sections.get('security')?.line).toBe(4);
    expect(doc.sections.get('security')?.entries.get('key_index')).toEqual({
      key: 'key_index',
      value: '1',
      line: 5,
    });
  });

  it('has no inline comments: ; and # inside a value are kept, so are quotes', () => {
    const doc = parseIni('[security]\npassword = Pa#ss;w0rd ; x\nq="quoted" \nhash=#x\n');
    expect(value(doc, 'security', 'password')).toBe('Pa#ss;w0rd ; x');
    expect(value(doc, 'security', 'q')).toBe('"quoted"');
    expect(value(doc, 'security', 'hash')).toBe('#x');
  });

  it('treats lines starting with ; or # (after indentation) as comments', () => {
    const doc = parseIni('[a]\n  ; x=1\n\t# y=2\n;[b]\nz=3\n');
    expect([...(doc.sections.get('a')?.entries.keys() ?? [])]).toEqual(['z']);
    expect(doc.sections.has('b')).toBe(false);
  });

  it('splits at the first = and trims key and value (spaces, tabs, \\v, \\f, \\r)', () => {
    const doc = parseIni('[a]\n \t my key \t=\t b = c \v\f\r\nempty=\n');
    expect(value(doc, 'a', 'my key')).toBe('b = c');
    expect(value(doc, 'a', 'empty')).toBe('');
  });

  it('reads CRLF files like LF files', () => {
    const lf = '[p2p]\nport=1\n[security]\npassword = a b\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = parseIni(lf);
    const b = parseIni(crlf);
    expect(value(b, 'security', 'password')).toBe('a b');
    expect(b.sections.get('security')?.entries.get('password')?.line).toBe(4);
    expect(JSON.stringify([...b.sections.keys()])).toBe(JSON.stringify([...a.sections.keys()]));
  });

  it('does not trim non-ASCII white space (U+00A0 stays in the value)', () => {
    const doc = parseIni('[a]\nk=\u00a0v\u00a0\n');
    expect(value(doc, 'a', 'k')).toBe('\u00a0v\u00a0');
  });

  it('splits lines at \\n only, so a lone \\r inside a line is an error that quotes nothing', () => {
    // Boost would read `k` as "1\rj=2" and no `j`, while an editor shows two lines.
    const error = syntaxError('[a]\nk=1\rj=S3cr3t\n');
    expect(error).toMatchObject({ code: 'CONFIG_SYNTAX', line: 2 });
    expect(error.message).toBe(
      'config.ini:2: a carriage return (CR) without a line feed at column 4: FISCO BCOS (Boost.PropertyTree) ' +
        'splits lines at LF only, so it reads the text on both sides of it as one line, where an editor ' +
        'may show several (expected LF or CRLF line endings)',
    );
    // Old Mac line endings: the whole file is one line to Boost; to gmt0018 an error on line 1.
    expect(syntaxError('[security]\renable_hsm=true\rpassword=S3cr3t\r')).toMatchObject({ line: 1 });
    expect(syntaxError('; note\rpassword=S3cr3t\n')).toMatchObject({ code: 'CONFIG_SYNTAX' });
    // A CR at either end of a line is trimmed white space, as for CRLF files.
    expect(value(parseIni('[a]\r\n\rk=1\r\r\n'), 'a', 'k')).toBe('1');
  });

  it('trims the section name and ignores text after the first ] (as Boost does)', () => {
    const doc = parseIni('[ security ] ; the HSM settings\nkey_index=1\n[a]b]\nx=1\n');
    expect(value(doc, 'security', 'key_index')).toBe('1');
    expect(value(doc, 'a', 'x')).toBe('1');
  });

  it('keeps key/value lines before the first section as top-level keys', () => {
    const doc = parseIni('top=1\n[security]\nkey_index=2\n');
    expect(doc.root.entries.get('top')).toEqual({ key: 'top', value: '1', line: 1 });
    expect(value(doc, 'security', 'key_index')).toBe('2');
  });

  it('is case-sensitive for section and key names', () => {
    const doc = parseIni('[Security]\nKey_Index=1\n[security]\nkey_index=2\n');
    expect(value(doc, 'Security', 'Key_Index')).toBe('1');
    expect(value(doc, 'security', 'key_index')).toBe('2');
  });

  it('allows reopening a section that got no keys (Boost drops empty sections)', () => {
    const doc = parseIni('[security]\n[p2p]\nport=1\n[security]\nkey_index=3\n');
    expect(value(doc, 'security', 'key_index')).toBe('3');
    expect(doc.sections.get('security')?.line).toBe(4);
  });

  it('keeps an empty section visible (so a caller can tell it from a missing one)', () => {
    const doc = parseIni('[security]\n; nothing\n[log]\nenable=true\n');
    expect(doc.sections.get('security')?.entries.size).toBe(0);
  });

  it('accepts empty text and comment-only text', () => {
    expect(parseIni('').sections.size).toBe(0);
    expect(parseIni('; only\n# comments\n\n').sections.size).toBe(0);
  });

  describe('errors (with line numbers, never quoting the line)', () => {
    it.each([
      ['line without =', '[a]\nx=1\nS3cr3t#;pw\n', 'CONFIG_SYNTAX', 3],
      ['key expected (line starts with =)', '[a]\n = S3cr3t#;pw\n', 'CONFIG_SYNTAX', 2],
      ['unterminated section header', '[a]\nx=1\n[S3cr3t#;pw\n', 'CONFIG_SYNTAX', 3],
      ['empty section name', '[a]\nx=1\n[  ]\ny=2\n', 'CONFIG_SYNTAX', 3],
      ['UTF-8 BOM at the start', '\ufeff[a]\nx=1\n', 'CONFIG_SYNTAX', 1],
      ['duplicate section', '[a]\nx=1\n[b]\ny=1\n[a]\nz=1\n', 'CONFIG_DUPLICATE_SECTION', 5],
      ['section named like a top-level key', 'a=1\n[a]\nx=1\n', 'CONFIG_DUPLICATE_SECTION', 2],
      ['duplicate key', '[a]\npassword=S3cr3t#;pw\nx=1\npassword=S3cr3t#;pw\n', 'CONFIG_DUPLICATE_KEY', 4],
      ['duplicate top-level key', 'k=1\nk=2\n', 'CONFIG_DUPLICATE_KEY', 2],
      ['duplicate key differing only in spaces', '[a]\nk=1\n  k  = 2\n', 'CONFIG_DUPLICATE_KEY', 3],
    ])('%s', (_name, text, code, line) => {
      const err = syntaxError(text);
      expect(err.code).toBe(code);
      expect(err.line).toBe(line);
      expect(err.file).toBe('config.ini');
      expect(err.message.startsWith(`config.ini:${line}: `)).toBe(true);
      expect(err.message).not.toContain('S3cr3t');
      expect(err.message).not.toContain('#;pw');
    });

    it('names the key and the first line of a duplicate key', () => {
      const err = syntaxError('[security]\npassword=S3cr3t#;pw\npassword=S3cr3t#;pw\n');
      expect(err.key).toBe('password');
      expect(err.section).toBe('security');
      expect(err.message).toBe(
        'config.ini:3: [security] password: duplicate key, first set on line 2 (expected each key once per section)',
      );
    });

    it('does not echo a key name that does not look like one', () => {
      const err = syntaxError('[a]\nS3cr3t#;pw x=1\nS3cr3t#;pw x=2\n');
      expect(err.code).toBe('CONFIG_DUPLICATE_KEY');
      expect(err.message).not.toContain('S3cr3t');
    });

    it('prefixes "line N" when no file name is known', () => {
      try {
        parseIni('[a]\nbad\n');
        throw new Error('expected a throw');
      } catch (err) {
        expect((err as ConfigError).message.startsWith('line 2: ')).toBe(true);
        expect((err as ConfigError).file).toBeUndefined();
      }
    });

    it('is a ConfigError with name ConfigError', () => {
      const err = syntaxError('[a\n');
      expect(err.name).toBe('ConfigError');
      expect(err).toBeInstanceOf(Error);
      expect(String(err).startsWith('ConfigError: config.ini:1: ')).toBe(true);
    });
  });
});
