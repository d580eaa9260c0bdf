/**
 * Typed readers for INI values. They accept what FISCO BCOS's `ptree::get<T>` accepts for a
 * sensible config and fail loudly where the node would silently fall back to a default.
 */
import { ConfigError, ConfigErrorCodes } from './errors';

/** Where a value comes from, for error messages. */
export interface ValueSite {
  file?: string;
  line?: number;
  section?: string;
  key?: string;
  /** The value is a secret: messages say what is wrong with it but never show it. */
  secret?: boolean;
}

const MAX_SHOWN = 80;

/** C0 controls (CR, TAB, ESC, …), DEL, C1 controls (NEL, …), and U+2028/U+2029. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/** 1-based position of the first control character in `text`, or 0. */
export function controlCharacterPosition(text: string): number {
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i))) return i + 1;
  return 0;
}

/**
 * A non-secret value as shown in a message: JSON-quoted, shortened if long. A value holding a
 * control character is described, never quoted: a line break an editor shows (a lone CR) but
 * the parser does not can put the next lines, a password among them, into one value.
 */
export function showValue(value: string, site: ValueSite): string {
  if (site.secret) return 'the value (not shown)';
  const control = controlCharacterPosition(value);
  if (control > 0) return `the value (not shown: it contains a control character at position ${control})`;
  const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
  return JSON.stringify(shown);
}

function example(site: ValueSite, sample: string): string {
  return site.key === undefined ? sample : `${site.key}=${sample}`;
}

/**
 * `true`, `false`, `1` or `0`, exactly (case-sensitive).
 *
 * FISCO reads booleans with `ptree::get<bool>(key, default)`, which returns the default for
 * anything it cannot parse: `enable_hsm=TRUE` or `=yes` would silently leave the HSM off. gmt0018
 * rejects them instead (CONFIG_BAD_BOOLEAN).
 */
/** CONFIG_BAD_VALUE: `what` is wrong with the value, and what was expected. */
export function badValue(what: string, expected: string, site: ValueSite): ConfigError {
  return new ConfigError(ConfigErrorCodes.CONFIG_BAD_VALUE, `${what} (expected ${expected})`, site);
}

export function parseBoolean(text: string, site: ValueSite = {}): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  const what = text === '' ? 'is empty' : `${showValue(text, site)} is not a boolean`;
  throw new ConfigError(
    ConfigErrorCodes.CONFIG_BAD_BOOLEAN,
    `${what} (expected true, false, 1 or 0 in lower case, e.g. ${example(site, 'true')}; ` +
      'FISCO BCOS would silently read it as the default)',
    site,
  );
}

export interface UnsignedIntOptions {
  /** Largest accepted value; default 4294967295 (C `unsigned int`). */
  max?: number;
  /** Why `max` is the limit, appended to the out-of-range message. */
  maxReason?: string;
}

/** Largest C `unsigned int`. */
export const UINT_MAX = 4294967295;
/** Largest C `int`. */
export const INT_MAX = 2147483647;

const DECIMAL = /^([+-]?)([0-9]+)$/;

/**
 * A decimal integer in 0..max: an optional sign and ASCII digits, nothing else (no `4.3`,
 * `0x2b`, `43abc`, spaces or empty text). Leading zeros are fine (decimal, not octal, as in C++
 * stream extraction); `-0` is 0. A negative number or one above `max` is CONFIG_OUT_OF_RANGE,
 * anything else unparsable is CONFIG_BAD_INTEGER.
 */
export function parseUnsignedInt(text: string, site: ValueSite = {}, options: UnsignedIntOptions = {}): number {
  const max = options.max ?? UINT_MAX;
  const match = DECIMAL.exec(text);
  if (match === null) {
    let what = text === '' ? 'is empty' : `${showValue(text, site)} is not an integer`;
    if (!site.secret && /^[+-]?0[xX]/.test(text)) what += ' (hexadecimal is not read as a number)';
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_INTEGER,
      `${what} (expected decimal digits, e.g. ${example(site, '1')})`,
      site,
    );
  }
  const sign = match[1] as string;
  const digits = (match[2] as string).replace(/^0+(?=[0-9])/, '');
  const range = `expected 0..${max}${options.maxReason === undefined ? '' : `: ${options.maxReason}`}`;
  if (sign === '-' && digits !== '0') {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_OUT_OF_RANGE,
      `${showValue(text, site)} is negative (${range})`,
      site,
    );
  }
  // More than 16 digits cannot be compared exactly as a double, but is far beyond any max anyway.
  const value = digits.length > 16 ? Number.POSITIVE_INFINITY : Number(digits);
  if (value > max) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_OUT_OF_RANGE,
      `${showValue(text, site)} is too large (${range})`,
      site,
    );
  }
  return value;
}
