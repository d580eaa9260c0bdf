import { readFileSync } from 'node:fs';
import { ConfigError, ConfigErrorCodes } from './errors';

/**
 * A secret kept in a file named by a `[security]` key (the signing service's token, a PKCS#11
 * PIN), trimmed. The message names the file and the key, never the content.
 * @throws ConfigError CONFIG_FILE_UNREADABLE
 */
export function readSecretFile(path: string, key: string, configPath?: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(ConfigErrorCodes.CONFIG_FILE_UNREADABLE, `cannot read the ${key} file ${path} (${code})`, {
      ...(configPath === undefined ? {} : { file: configPath }),
      section: 'security',
      key,
    });
  }
}
