/**
 * Which kind of file a config is: a FISCO BCOS node's config.ini (`[security]`), or a java-sdk
 * config.toml (`[cryptoMaterial]`, `[account]`). The extension decides when it is .toml or .ini;
 * otherwise the section headers do, so `--config app.conf` works for either.
 */
const SECURITY_HEADER = /^[ \t]*\[security\]/m;
const JAVA_SDK_HEADER = /^[ \t]*\[(cryptoMaterial|account)\][ \t]*(#.*)?\r?$/m;

export function isJavaSdkToml(text: string, file?: string): boolean {
  if (file !== undefined && /\.toml$/i.test(file)) return true;
  if (file !== undefined && /\.ini$/i.test(file)) return false;
  return !SECURITY_HEADER.test(text) && JAVA_SDK_HEADER.test(text);
}
