/**
 * An INI reader that follows Boost.PropertyTree's `read_ini`, which is what a FISCO BCOS node uses
 * to read config.ini. Same input, same sections, keys and values; where Boost throws, this throws a
 * ConfigError with the line number.
 *
 * Boost's rules, as implemented here:
 * - The text is split into lines at `\n` only. Each line is trimmed of ASCII white space
 *   (space, \t, \n, \v, \f, \r: the C locale's isspace), so CRLF files read like LF files.
 *   Nothing else is trimmed: not U+00A0, not U+FEFF.
 * - Empty lines are skipped. A line whose first character is `;` or `#` is a comment. There are no
 *   inline comments: in `password = Pa#ss;w0rd ; x` the value is `Pa#ss;w0rd ; x`.
 * - `[name]` opens a section; the name is the trimmed text up to the first `]`. Text after that `]`
 *   is ignored (Boost ignores it too). `[name` without `]` is an error.
 * - Any other line must contain `=`. The key is the trimmed text before the first `=`, the value the
 *   trimmed text after it. Quotes are kept. A line without `=`, or starting with `=`, is an error.
 * - A key repeated within one section (or within the top level) is an error.
 * - A section name that is already in use is an error, except that Boost forgets a section that
 *   received no keys, so an empty section may be opened again. A section name equal to a top-level
 *   key is also an error (Boost keeps both in one tree).
 * - Keys before the first section are top-level keys (kept in `root`).
 *
 * Three deliberate differences, all cases the node would misread or reject:
 * - A UTF-8 byte-order mark at the start of the file is an error (CONFIG_SYNTAX, line 1). Boost
 *   does not skip it, so the node either rejects the first line or reads a key with the BOM in it.
 * - An empty section name `[]` is an error. Boost accepts it; keys under it would be silently lost.
 * - A carriage return inside a line (a CR not followed by LF: old Mac line endings, or a stray
 *   one) is an error (CONFIG_SYNTAX). Boost splits at LF only (std::getline), so it reads
 *   `enable_hsm=true<CR>key_index=1<CR>password=…` as one line: enable_hsm with a value it cannot
 *   parse (the node silently keeps the HSM off) and no key_index or password at all, while an
 *   editor shows three lines. Whatever the line holds is never shown.
 *
 * Errors never quote the text of a line: it may hold a secret.
 */
import { ConfigError, ConfigErrorCodes } from './errors';

type IniErrorCode =
  | typeof ConfigErrorCodes.CONFIG_SYNTAX
  | typeof ConfigErrorCodes.CONFIG_DUPLICATE_SECTION
  | typeof ConfigErrorCodes.CONFIG_DUPLICATE_KEY;

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line number of the `key = value` line. */
  readonly line: number;
}

export interface IniSection {
  /** Section name without brackets; `''` for the top level. */
  readonly name: string;
  /** 1-based line of the `[name]` header (the last one, if an empty section was reopened); 0 for the top level. */
  readonly line: number;
  /** Keys in file order. */
  readonly entries: ReadonlyMap<string, IniEntry>;
}

export interface IniDocument {
  /** The file name given to parseIni, used in error messages. */
  readonly file?: string;
  /** Key/value lines before the first section header. */
  readonly root: IniSection;
  /**
   * Sections in file order. Unlike Boost, sections without keys are kept, so a caller can tell
   * "`[security]` is there but empty" from "no `[security]`"; for key lookups this is the same.
   */
  readonly sections: ReadonlyMap<string, IniSection>;
}

interface MutableSection {
  name: string;
  line: number;
  entries: Map<string, IniEntry>;
}

/** `isspace` in the C locale. */
function isIniSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** Trim as Boost's `detail::trim` does in the C locale: ASCII white space only. */
export function trimIni(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isIniSpace(text.charCodeAt(start))) start++;
  while (end > start && isIniSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function leadingSpace(text: string): number {
  let n = 0;
  while (n < text.length && isIniSpace(text.charCodeAt(n))) n++;
  return n;
}

/**
 * Parse INI text by Boost.PropertyTree's rules (see the module comment).
 * @param text the file's text (already decoded)
 * @param file name used in error messages and `ConfigError.file`
 * @throws ConfigError (CONFIG_SYNTAX, CONFIG_DUPLICATE_SECTION, CONFIG_DUPLICATE_KEY)
 */
export function parseIni(text: string, file?: string): IniDocument {
  const fail = (
    code: IniErrorCode,
    line: number,
    problem: string,
    extra: { section?: string; key?: string } = {},
  ): never => {
    throw new ConfigError(code, problem, { file, line, ...extra });
  };

  if (text.charCodeAt(0) === 0xfeff) {
    fail(
      ConfigErrorCodes.CONFIG_SYNTAX,
      1,
      'the file starts with a UTF-8 byte-order mark (BOM), which the INI parser of FISCO BCOS ' +
        '(Boost.PropertyTree) does not skip, so the node would misread this line too ' +
        '(expected: save config.ini as UTF-8 without BOM)',
    );
  }

  const root: MutableSection = { name: '', line: 0, entries: new Map() };
  const sections = new Map<string, MutableSection>();
  let current: MutableSection | undefined;

  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const raw = lines[index] as string;
    const line = trimIni(raw);
    if (line === '') continue;

    const cr = line.indexOf('\r');
    if (cr >= 0) {
      fail(
        ConfigErrorCodes.CONFIG_SYNTAX,
        lineNo,
        `a carriage return (CR) without a line feed at column ${leadingSpace(raw) + cr + 1}: ` +
          'FISCO BCOS (Boost.PropertyTree) splits lines at LF only, so it reads the text on both sides ' +
          'of it as one line, where an editor may show several (expected LF or CRLF line endings)',
      );
    }

    const first = line[0];
    if (first === ';' || first === '#') continue;

    if (first === '[') {
      const close = line.indexOf(']');
      if (close < 0) {
        fail(
          ConfigErrorCodes.CONFIG_SYNTAX,
          lineNo,
          "section header has no closing ']' (expected [name], e.g. [security])",
        );
      }
      const name = trimIni(line.slice(1, close));
      if (name === '') {
        fail(ConfigErrorCodes.CONFIG_SYNTAX, lineNo, 'empty section name (expected [name], e.g. [security])');
      }
      const clashingKey = root.entries.get(name);
      if (clashingKey !== undefined) {
        fail(
          ConfigErrorCodes.CONFIG_DUPLICATE_SECTION,
          lineNo,
          `section name already used by the top-level key on line ${clashingKey.line} ` +
            '(FISCO BCOS rejects this as a duplicate section name)',
          { section: name },
        );
      }
      const existing = sections.get(name);
      if (existing !== undefined) {
        if (existing.entries.size > 0) {
          fail(
            ConfigErrorCodes.CONFIG_DUPLICATE_SECTION,
            lineNo,
            `duplicate section, first opened on line ${existing.line} ` + '(expected each section once; merge the two)',
            { section: name },
          );
        }
        // Boost dropped the earlier, empty one; this header starts the section afresh.
        existing.line = lineNo;
        current = existing;
      } else {
        current = { name, line: lineNo, entries: new Map() };
        sections.set(name, current);
      }
      continue;
    }

    const eq = line.indexOf('=');
    if (eq < 0) {
      fail(
        ConfigErrorCodes.CONFIG_SYNTAX,
        lineNo,
        "line has no '=' (expected key=value, a [section] header, or a comment starting with ';' or '#')",
      );
    }
    if (eq === 0) {
      fail(ConfigErrorCodes.CONFIG_SYNTAX, lineNo, "key expected before '=' (expected key=value)");
    }
    const key = trimIni(line.slice(0, eq));
    const value = trimIni(line.slice(eq + 1));
    const container = current ?? root;
    const previous = container.entries.get(key);
    if (previous !== undefined) {
      fail(
        ConfigErrorCodes.CONFIG_DUPLICATE_KEY,
        lineNo,
        `duplicate key, first set on line ${previous.line} (expected each key once per section)`,
        container === root ? { key } : { section: container.name, key },
      );
    }
    container.entries.set(key, { key, value, line: lineNo });
  }

  return file === undefined ? { root, sections } : { file, root, sections };
}
