/**
 * A TOML file read with smol-toml, plus the line of each table header and `key =` line, which the
 * parser does not report and messages need.
 *
 * A syntax error keeps smol-toml's line and column but drops its message's code excerpt: that
 * excerpt quotes the broken line and its neighbours, and one of them may hold a password.
 */
import { parse, TomlError } from 'smol-toml';
import { ConfigError, ConfigErrorCodes } from './errors';

export type TomlTable = Record<string, unknown>;

export interface TomlDocument {
  readonly root: TomlTable;
  /** 1-based line of `[table]` (the first `[[table]]` for an array of tables). */
  tableLine(table: string): number | undefined;
  /** 1-based line of `key =` inside `[table]` (`''`: before any table). */
  keyLine(table: string, key: string): number | undefined;
}

const TABLE_HEADER = /^\s*\[\[?\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_.-]+)\s*\]\]?/;
const KEY_LINE = /^\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*=/;

/** Messages of smol-toml that are fixed text (no quoted input): shown as they are. */
const PLAIN_PROBLEM = /^[a-z][a-z ,:;()'-]*$/i;

function lineIndex(text: string): Pick<TomlDocument, 'tableLine' | 'keyLine'> {
  const tables = new Map<string, number>();
  const keys = new Map<string, number>();
  let table = '';
  text.split(/\r?\n/).forEach((line, index) => {
    const header = TABLE_HEADER.exec(line);
    if (header !== null) {
      table = header[2] ?? header[3] ?? (header[1] as string);
      if (!tables.has(table)) tables.set(table, index + 1);
      return;
    }
    const key = KEY_LINE.exec(line);
    if (key === null) return;
    const name = `${table}\n${key[2] ?? key[3] ?? key[1]}`;
    if (!keys.has(name)) keys.set(name, index + 1);
  });
  return {
    tableLine: (name) => tables.get(name),
    keyLine: (name, key) => keys.get(`${name}\n${key}`),
  };
}

/**
 * Parse TOML text (already decoded from UTF-8).
 * @throws ConfigError CONFIG_SYNTAX with the file, line and column, never quoting the text
 */
export function parseTomlDocument(text: string, file?: string): TomlDocument {
  let root: TomlTable;
  try {
    root = parse(text) as TomlTable;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const first = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    const problem = PLAIN_PROBLEM.test(first) ? first : 'syntax error';
    // no `cause`: the TomlError carries the code excerpt
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_SYNTAX,
      `not valid TOML at column ${error.column}: ${problem} (the line is not shown, it may hold a password)`,
      file === undefined ? { line: error.line } : { file, line: error.line },
    );
  }
  return { root, ...lineIndex(text) };
}
