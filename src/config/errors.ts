/**
 * The one error type of the config layer.
 *
 * Every ConfigError carries a machine-readable `code`, and where known the file, the 1-based line,
 * the section and the key. The message says where, what is wrong and what is expected. It never
 * contains the value of a secret key (`password` and the like), and never the raw text of a line:
 * a broken line may well be half of a password.
 */

export const ConfigErrorCodes = {
  /** The file is missing, unreadable, or a directory. The message names the errno code. */
  CONFIG_FILE_UNREADABLE: 'CONFIG_FILE_UNREADABLE',
  /** A line the INI parser cannot read: no `=`, empty key, `[name` without `]`, `[]`, a BOM. */
  CONFIG_SYNTAX: 'CONFIG_SYNTAX',
  CONFIG_DUPLICATE_SECTION: 'CONFIG_DUPLICATE_SECTION',
  CONFIG_DUPLICATE_KEY: 'CONFIG_DUPLICATE_KEY',
  /** No `[security]` section: almost surely not a FISCO BCOS node's config.ini. */
  CONFIG_MISSING_SECTION: 'CONFIG_MISSING_SECTION',
  /** A key that is required in this configuration is absent (key_index with the HSM on, …). */
  CONFIG_MISSING_KEY: 'CONFIG_MISSING_KEY',
  CONFIG_BAD_BOOLEAN: 'CONFIG_BAD_BOOLEAN',
  CONFIG_BAD_INTEGER: 'CONFIG_BAD_INTEGER',
  CONFIG_OUT_OF_RANGE: 'CONFIG_OUT_OF_RANGE',
  /** Two keys that mean the same thing are both set (key_index and key_id). */
  CONFIG_CONFLICT: 'CONFIG_CONFLICT',
  /** A setting FISCO BCOS accepts but gmt0018 cannot serve (kms_type=CLOUDKMS/BCOSKMS, …). */
  CONFIG_UNSUPPORTED: 'CONFIG_UNSUPPORTED',
  /** A value of the right type but not an acceptable one (unknown kms_type, empty path, …). */
  CONFIG_BAD_VALUE: 'CONFIG_BAD_VALUE',
  /**
   * The key file named by private_key_path cannot be read or is not an SM2 private key. Not raised
   * by the config reader itself (it does no I/O beyond config.ini) but by the software signer.
   */
  CONFIG_KEY_FILE: 'CONFIG_KEY_FILE',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCodes)[keyof typeof ConfigErrorCodes];

/** Where a problem is. Everything is optional: a message is built from what is known. */
export interface ConfigErrorLocation {
  /** The config file, as the caller named it (loadSecurityConfig passes an absolute path). */
  file?: string;
  /** 1-based line number. */
  line?: number;
  /** Section name without brackets, e.g. `security`. */
  section?: string;
  /** Key name as written in the file, e.g. `key_index`. */
  key?: string;
  /** The underlying error (e.g. the fs error of an unreadable file). */
  cause?: unknown;
}

export class ConfigError extends Error {
  static {
    // On the prototype (not an instance field) so that the stack header reads "ConfigError: …".
    Object.defineProperty(this.prototype, 'name', {
      value: 'ConfigError',
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }

  readonly code: ConfigErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly section?: string;
  readonly key?: string;

  /**
   * @param code    machine-readable code
   * @param problem what is wrong and what is expected, e.g.
   *                `"4.3" is not an integer (expected decimal digits, e.g. key_index=1)`.
   *                The caller is responsible for never putting a secret value in it.
   * @param where   file / line / section / key, used both for the properties and the message prefix
   */
  constructor(code: ConfigErrorCode, problem: string, where: ConfigErrorLocation = {}) {
    super(formatConfigMessage(problem, where), where.cause === undefined ? undefined : { cause: where.cause });
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.section !== undefined) this.section = where.section;
    if (where.key !== undefined) this.key = where.key;
  }
}

/**
 * `config.ini:12: [security] key_index: <problem>`; parts that are unknown are left out
 * (`line 12: …` when there is no file name, `config.ini: …` when there is no line).
 */
function formatConfigMessage(problem: string, where: ConfigErrorLocation): string {
  let prefix = '';
  if (where.file !== undefined && where.line !== undefined) prefix = `${where.file}:${where.line}: `;
  else if (where.file !== undefined) prefix = `${where.file}: `;
  else if (where.line !== undefined) prefix = `line ${where.line}: `;

  let subject = '';
  if (where.key !== undefined) {
    subject =
      where.section !== undefined
        ? `[${safeName(where.section)}] ${safeName(where.key)}: `
        : `${safeName(where.key)}: `;
  } else if (where.section !== undefined) {
    subject = `[${safeName(where.section)}]: `;
  }
  return prefix + subject + problem;
}

const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A section or key name as it may appear in a message. Ordinary names (letters, digits, `_`, `.`,
 * `-`) are shown; anything else is not echoed, since a garbled line can make a secret look like a
 * key name (`S3cr3t = …` after a lost line break).
 */
export function safeName(name: string): string {
  return PLAIN_NAME.test(name) ? name : '(name not shown)';
}
