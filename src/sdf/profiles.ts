/**
 * Named profiles of how vendor SDF libraries differ from the standard header, and the merge of a
 * profile with explicit overrides. No runtime imports: the config layer reads the names from here.
 */
import type { SdfLibraryOptions } from './library';

export const SDF_PROFILES = Object.freeze({
  /** GM/T 0018-2012 as published: ECCref_MAX_BITS 512 (64-byte fields), no uiAlgID on InternalSign. */
  standard: { eccFieldBytes: 64, internalSignWithAlgId: false },
  /** ECCref_MAX_BITS 256: 32-byte value fields in ECCrefPublicKey / ECCSignature / ECCCipher. */
  bits256: { eccFieldBytes: 32, internalSignWithAlgId: false },
  /** SDF_InternalSign_ECC(hSession, uiAlgID, uiISKIndex, ...) with a leading algorithm ID. */
  algid: { eccFieldBytes: 64, internalSignWithAlgId: true },
  /** Both deviations at once. */
  'bits256-algid': { eccFieldBytes: 32, internalSignWithAlgId: true },
} as const satisfies Record<string, SdfLibraryOptions>);

export type SdfProfileName = keyof typeof SDF_PROFILES;
export const SDF_PROFILE_NAMES = Object.keys(SDF_PROFILES) as SdfProfileName[];

export function isSdfProfileName(name: string): name is SdfProfileName {
  return Object.hasOwn(SDF_PROFILES, name);
}

/**
 * Merges layers of settings, later ones winning (undefined values do not count): the profile named by the last layer that names
 * one (default `standard`), then each layer's explicit values; symbol maps merge per function and
 * preload lists are taken whole from the last layer that gives one.
 * @throws RangeError for an unknown profile name
 */
export function resolveSdfLibraryOptions(...layers: (SdfLibraryOptions | undefined)[]): SdfLibraryOptions {
  const named = layers.filter((layer) => layer?.profile !== undefined).pop()?.profile ?? 'standard';
  if (!isSdfProfileName(named)) {
    throw new RangeError(`unknown SDF profile "${named}" (expected one of ${SDF_PROFILE_NAMES.join(', ')})`);
  }
  const out: SdfLibraryOptions = { ...SDF_PROFILES[named], profile: named };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [name, value] of Object.entries(layer) as [keyof SdfLibraryOptions, unknown][]) {
      if (value === undefined || name === 'profile') continue;
      if (name === 'symbols') out.symbols = { ...out.symbols, ...(value as Record<string, string>) };
      else if (name === 'preload') out.preload = [...(value as readonly string[])];
      else (out as Record<string, unknown>)[name] = value;
    }
  }
  return out;
}
