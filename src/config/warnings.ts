/**
 * Warnings for keys a reader does not know. FISCO BCOS and the java-sdk ignore such keys, and so
 * does gmt0018, but a typo (`enable_hms`) silently turns a setting off, so each one is reported
 * with the known key it most likely meant. A warning names keys only, never a value.
 */
import { closestKnownKey } from './did-you-mean';
import { safeName } from './errors';
import type { ConfigWarning } from './types';

export interface WarningSite {
  file?: string;
  line?: number;
}

/**
 * `[security] enable_hms is not a known key (did you mean enable_hsm?)`. With `section` empty the
 * key is a top-level table of a TOML file: `[cryptoMaterail] is not a known section (…)`.
 */
export function unknownKeyWarning(
  section: string,
  key: string,
  known: readonly string[],
  site: WarningSite = {},
): ConfigWarning {
  const shown = safeName(key);
  // a name that is not shown gets no suggestion either: it may be a secret that lost its line break
  const suggestion = shown === key ? closestKnownKey(key, known) : undefined;
  const hint = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
  const message =
    section === ''
      ? `[${shown}] is not a known section${hint}`
      : `[${safeName(section)}] ${shown} is not a known key${hint}`;
  const warning: ConfigWarning = { message, section, key: shown };
  if (suggestion !== undefined) warning.suggestion = suggestion;
  if (site.file !== undefined) warning.file = site.file;
  if (site.line !== undefined) warning.line = site.line;
  return Object.freeze(warning);
}
