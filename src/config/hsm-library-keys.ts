/**
 * Parsers of the `[security]` keys gmt0018 adds for vendor SDF libraries (not read by FISCO):
 *   hsm_profile=standard|bits256|algid|bits256-algid
 *   hsm_ecc_field_bytes=64|32
 *   hsm_sign_with_alg_id=true|false
 *   hsm_symbols=SDF_InternalSign_ECC=VENDOR_InternalSign,SDF_HashInit=VENDOR_HashInit
 *   hsm_preload=libdep1.so:/opt/vendor/lib/libdep2.so
 *   hsm_thread_model=session|serial
 *   hsm_call_timeout_ms=10000
 *   hsm_kek_algorithm=SGD_SM4_ECB|SGD_SM4_CBC
 *   hsm_sign_threads=0..64
 */
import { isSdfProfileName, SDF_PROFILE_NAMES } from '../sdf/profiles';
import { badValue, parseUnsignedInt, showValue, type ValueSite } from './values';
import type { SdfThreadModel } from '../sdf/library';
import { MAX_SIGN_THREADS } from '../native/sign-ring';

export function parseHsmProfile(raw: string, site: ValueSite): string {
  if (isSdfProfileName(raw)) return raw;
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not a known profile`,
    SDF_PROFILE_NAMES.join(', '),
    site,
  );
}

export function parseEccFieldBytes(raw: string, site: ValueSite): 32 | 64 {
  if (raw === '64') return 64;
  if (raw === '32') return 32;
  throw badValue(
    `${showValue(raw, site)} is not a field width`,
    '64 for ECCref_MAX_BITS=512 (the standard) or 32 for ECCref_MAX_BITS=256',
    site,
  );
}

const C_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `Standard=Vendor` pairs separated by commas; spaces around names are ignored. */
export function parseHsmSymbols(raw: string, site: ValueSite): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const [standard = '', vendor = '', ...rest] = pair.split('=').map((part) => part.trim());
    if (!/^SDF_[A-Za-z0-9_]+$/.test(standard) || !C_NAME.test(vendor) || rest.length > 0) {
      throw badValue(
        `${showValue(pair.trim(), site)} is not a symbol mapping`,
        'SDF_Name=VendorSymbol pairs separated by commas, e.g. SDF_InternalSign_ECC=SDF_InternalSign_ECC_Ex',
        site,
      );
    }
    if (Object.hasOwn(out, standard)) throw badValue(`${standard} is mapped twice`, 'one mapping per function', site);
    out[standard] = vendor;
  }
  return Object.freeze(out);
}

/** Paths separated by `:` (as LD_LIBRARY_PATH), loaded in order before the SDF library. */
export function parseHsmPreload(raw: string, site: ValueSite): readonly string[] {
  const paths = raw.split(':').map((part) => part.trim());
  if (paths.some((p) => p === '')) {
    throw badValue('has an empty path', 'library paths separated by ":", e.g. /opt/vendor/lib/libdep.so', site);
  }
  return paths;
}

export function parseThreadModel(raw: string, site: ValueSite): SdfThreadModel {
  if (raw === 'session' || raw === 'serial') return raw;
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not a thread model`,
    'session (calls on different sessions in parallel) or serial (every call of the library one at a time)',
    site,
  );
}

/** Milliseconds a device call may take; 0 turns the deadline off. */
export function parseCallTimeoutMs(raw: string, site: ValueSite): number {
  return parseUnsignedInt(raw, site, { max: 2_147_483_647, maxReason: 'the longest timer Node.js sets' });
}

export function parseSignThreads(raw: string, site: ValueSite): number {
  return parseUnsignedInt(raw, site, { max: MAX_SIGN_THREADS, maxReason: 'the most signing threads a signer starts' });
}

export function parseKekAlgorithm(raw: string, site: ValueSite): 'SGD_SM4_ECB' | 'SGD_SM4_CBC' {
  if (raw === 'SGD_SM4_ECB' || raw === 'SGD_SM4_CBC') return raw;
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not a key-wrapping algorithm`,
    'SGD_SM4_ECB or SGD_SM4_CBC',
    site,
  );
}
