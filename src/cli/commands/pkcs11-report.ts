/** What `gmt0018 info --pkcs11 LIB` reports: the module, its slots and tokens, mechanisms and keys. */
import { readSecretFlagFile } from '../input';
import { CKM_ECDSA, CKM_EDDSA, PKCS11_SM2_PROFILES, Pkcs11Module, type TokenInfo } from '../../pkcs11';
import { readUlong, template, ulongValue } from '../../pkcs11/attributes';
import { CKA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY } from '../../pkcs11/constants';
import { algorithmOf } from '../../pkcs11/keys';
import type { Pkcs11Session } from '../../pkcs11/session';

const MECHANISM_NAMES = new Map<number, string>([
  [CKM_ECDSA, 'CKM_ECDSA'],
  [CKM_EDDSA, 'CKM_EDDSA'],
  ...Object.entries(PKCS11_SM2_PROFILES).map(([name, p]) => [p.mechanism, `SM2 (${name} profile)`] as [number, string]),
]);

export interface KeyListing {
  class: 'private' | 'public';
  label: string;
  id: string;
  algorithm: string;
}

export interface TokenReport extends TokenInfo {
  mechanisms: string[];
  keys: KeyListing[];
  /** Why the keys could not be listed (an uninitialised token, a wrong PIN). */
  error?: string;
}

function mechanismName(type: number): string {
  return MECHANISM_NAMES.get(type) ?? `0x${type.toString(16)}`;
}

async function listKeys(session: Pkcs11Session, klass: number): Promise<KeyListing[]> {
  const out: KeyListing[] = [];
  for (const handle of await session.findObjects(template([[CKA.CLASS, ulongValue(klass)]]))) {
    const [label, id, keyType, params] = await session.getAttributes(handle, [
      CKA.LABEL,
      CKA.ID,
      CKA.KEY_TYPE,
      CKA.EC_PARAMS,
    ]);
    let algorithm: string;
    try {
      algorithm = algorithmOf(keyType, params, undefined);
    } catch {
      algorithm = keyType === undefined ? 'unknown' : `key type 0x${readUlong(keyType).toString(16)}`;
    }
    out.push({
      class: klass === CKO_PRIVATE_KEY ? 'private' : 'public',
      label: label?.toString('utf8') ?? '',
      id: id?.toString('hex') ?? '',
      algorithm,
    });
  }
  return out;
}

/** Reads everything the module shows; private keys only with a PIN (from `pinFile`). */
export async function pkcs11Report(library: string, pinFile: string | undefined) {
  const pin = pinFile === undefined ? undefined : readSecretFlagFile(pinFile, '--pin-file');
  const module = await Pkcs11Module.open(library);
  try {
    const info = await module.info();
    const tokens: TokenReport[] = [];
    for (const slot of await module.slots()) {
      const token = await module.tokenInfo(slot);
      const mechanisms = (await module.mechanisms(slot)).map((m) => mechanismName(m.type));
      const keys: KeyListing[] = [];
      let error: string | undefined;
      try {
        const session = await module.openSession(slot);
        try {
          if (pin !== undefined) await session.login(pin);
          keys.push(...(await listKeys(session, CKO_PUBLIC_KEY)));
          if (pin !== undefined) keys.push(...(await listKeys(session, CKO_PRIVATE_KEY)));
        } finally {
          await session.close();
        }
      } catch (caught) {
        error = (caught as Error).message;
      }
      tokens.push(error === undefined ? { ...token, mechanisms, keys } : { ...token, mechanisms, keys, error });
    }
    return { library, module: info, tokens };
  } finally {
    await module.close();
  }
}

export function reportLines(report: Awaited<ReturnType<typeof pkcs11Report>>): string[] {
  const lines = [
    `module:     ${report.library}`,
    `cryptoki:   ${report.module.cryptokiVersion} (${report.module.manufacturer}, ${report.module.description})`,
    `tokens:     ${report.tokens.length}`,
  ];
  for (const token of report.tokens) {
    lines.push(
      `  slot ${token.slot}: "${token.label}" ${token.manufacturer} ${token.model} serial ${token.serialNumber}` +
        (token.maxRwSessions === undefined ? '' : `, at most ${token.maxRwSessions} sessions`),
      `    mechanisms: ${token.mechanisms.filter((m) => !m.startsWith('0x')).join(' ') || '-'} (${token.mechanisms.length} in all)`,
      ...token.keys.map(
        (k) => `    ${k.class.padEnd(7)} ${k.algorithm.padEnd(16)} label "${k.label}" id ${k.id || '-'}`,
      ),
      ...(token.error === undefined ? [] : [`    keys not listed: ${token.error}`]),
    );
  }
  return lines;
}
