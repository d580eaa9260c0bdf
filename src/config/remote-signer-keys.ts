import { ConfigError, ConfigErrorCodes } from './errors';
import type { ValueSite } from './values';

/** remote_signer_url: one or more http(s) URLs of `gmt0018 serve`, comma-separated. */
export function parseRemoteSignerUrls(raw: string, site: ValueSite): readonly string[] {
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_VALUE,
      'has an empty URL (expected comma-separated URLs, e.g. https://signer-a:8443,https://signer-b:8443)',
      site,
    );
  }
  return Object.freeze(parts.map((part, i) => checkUrl(part, i + 1, site)));
}

function checkUrl(text: string, position: number, site: ValueSite): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new ConfigError(
      ConfigErrorCodes.CONFIG_BAD_VALUE,
      `URL ${position} is not a plain http(s) URL (expected e.g. https://signer:8443; credentials go in remote_signer_token_file)`,
      site,
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}
