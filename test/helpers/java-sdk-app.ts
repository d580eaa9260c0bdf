import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToPem } from '../../src/sm2';

/**
 * A java-sdk config.toml as an application ships it (layout of the java-sdk's own example file):
 * `cryptoMaterial` and `account` are the bodies of those two tables.
 */
export function javaSdkToml(opts: { cryptoMaterial: string; account?: string }): string {
  return `[cryptoMaterial]
certPath = "conf"                           # The certification path
# caCert = "conf/ca.crt"                    # CA cert file path
${opts.cryptoMaterial}

[network]
messageTimeout = "10000"
defaultGroup = "group0"
peers = ["127.0.0.1:20200", "127.0.0.1:20201"]    # The peer list to connect

# Configure a private topic as a topic subscriber.
[[amop]]
topicName = "PrivateTopic"
privateKey = "conf/amop/consumer_private_key.p12"
password = "amop-pass"

[account]
keyStoreDir = "account"         # The directory to load/store the account file, default is "account"
${opts.account ?? ''}

[threadPool]
threadPoolSize = "16"
`;
}

/** An application folder: conf/config.toml, and the SM2 account key where the java-sdk looks for it. */
export function writeJavaSdkApp(opts: {
  cryptoMaterial: string;
  account?: string;
  accountKey?: { privateKey: Uint8Array; file: string };
}): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-java-sdk-'));
  mkdirSync(join(dir, 'conf'));
  const configPath = join(dir, 'conf', 'config.toml');
  writeFileSync(configPath, javaSdkToml(opts));
  if (opts.accountKey !== undefined) {
    const file = join(dir, opts.accountKey.file);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, privateKeyToPem(opts.accountKey.privateKey));
  }
  return { dir, configPath };
}
