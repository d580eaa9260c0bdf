/** SDR_* return codes of GM/T 0018-2012 (SDR_BASE + offset). */
export const SDR_OK = 0;
export const SDR_BASE = 0x01000000;

const SDR_OFFSETS = {
  SDR_UNKNOWERR: 0x01,
  SDR_NOTSUPPORT: 0x02,
  SDR_COMMFAIL: 0x03,
  SDR_HARDFAIL: 0x04,
  SDR_OPENDEVICE: 0x05,
  SDR_OPENSESSION: 0x06,
  SDR_PARDENY: 0x07,
  SDR_KEYNOTEXIST: 0x08,
  SDR_ALGNOTSUPPORT: 0x09,
  SDR_ALGMODNOTSUPPORT: 0x0a,
  SDR_PKOPERR: 0x0b,
  SDR_SKOPERR: 0x0c,
  SDR_SIGNERR: 0x0d,
  SDR_VERIFYERR: 0x0e,
  SDR_SYMOPERR: 0x0f,
  SDR_STEPERR: 0x10,
  SDR_FILESIZEERR: 0x11,
  SDR_FILENOEXIST: 0x12,
  SDR_FILEOFSERR: 0x13,
  SDR_KEYTYPEERR: 0x14,
  SDR_KEYERR: 0x15,
  SDR_ENCDATAERR: 0x16,
  SDR_RANDERR: 0x17,
  SDR_PRKRERR: 0x18,
  SDR_MACERR: 0x19,
  SDR_FILEEXSITS: 0x1a,
  SDR_FILEWERR: 0x1b,
  SDR_NOBUFFER: 0x1c,
  SDR_INARGERR: 0x1d,
  SDR_OUTARGERR: 0x1e,
} as const;

export type SdrName = 'SDR_OK' | keyof typeof SDR_OFFSETS;

/** Every named SDR code, e.g. `SDR.SDR_PARDENY === 0x01000007`. */
export const SDR = Object.freeze(
  Object.fromEntries([
    ['SDR_OK', SDR_OK],
    ...Object.entries(SDR_OFFSETS).map(([name, offset]) => [name, SDR_BASE + offset]),
  ]),
) as Readonly<Record<SdrName, number>>;

const NAME_BY_CODE = new Map<number, SdrName>(Object.entries(SDR).map(([name, code]) => [code, name as SdrName]));

/** `SDR_PARDENY` for 0x01000007; vendor-specific codes read as `SDR_0x0100A001`. */
export function sdrName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `SDR_0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Parses `SDR_PARDENY`, `0x01000007` or `16777223`; undefined when it is none of these. */
export function parseSdrCode(text: string): number | undefined {
  const named = (SDR as Record<string, number>)[text];
  if (named !== undefined) return named;
  if (/^0x[0-9a-f]{1,8}$/i.test(text) || /^\d{1,10}$/.test(text)) {
    const value = Number(text);
    return value <= 0xffffffff ? value : undefined;
  }
  return undefined;
}

/** Algorithm identifiers (SGD_*). */
export const SGD = Object.freeze({
  SGD_SM1_ECB: 0x00000101,
  SGD_SM1_CBC: 0x00000102,
  SGD_SM1_CFB: 0x00000104,
  SGD_SM1_OFB: 0x00000108,
  SGD_SM1_MAC: 0x00000110,
  SGD_SM4_ECB: 0x00000401,
  SGD_SM4_CBC: 0x00000402,
  SGD_SM4_CFB: 0x00000404,
  SGD_SM4_OFB: 0x00000408,
  SGD_SM4_MAC: 0x00000410,
  SGD_SM2: 0x00020100,
  SGD_SM2_1: 0x00020200,
  SGD_SM2_2: 0x00020400,
  SGD_SM2_3: 0x00020800,
  SGD_SM3: 0x00000001,
  SGD_SHA1: 0x00000002,
  SGD_SHA256: 0x00000004,
});

export type SgdName = keyof typeof SGD;

/** Names of the algorithm bits set in an ability mask (DEVICEINFO's *AlgAbility fields). */
export function algorithmNames(mask: number, family: readonly SgdName[]): SgdName[] {
  return family.filter((name) => (mask & SGD[name]) === SGD[name]);
}
