import { statSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';
import { SDR_OK } from './codes';
import { SdfBindingError, SdfError } from './errors';
import { resolveSdfLibraryOptions } from './profiles';
import { EccFieldBytes } from './structs';

/** How a vendor's library differs from the standard header. */
export interface SdfLibraryOptions {
  /** A named profile (profiles.ts, default `standard`); the other fields override its values. */
  profile?: string;
  /** Width of ECCref value fields: 64 (standard, ECCref_MAX_BITS=512) or 32. Default 64. */
  eccFieldBytes?: EccFieldBytes;
  /** `SDF_InternalSign_ECC(hSession, uiAlgID, uiISKIndex, ...)` with a leading algorithm ID. */
  internalSignWithAlgId?: boolean;
  /** Standard function name → the symbol the library exports instead. */
  symbols?: Readonly<Record<string, string>>;
  /** Libraries to load first, globally, for vendor libraries whose own dependencies are not found. */
  preload?: readonly string[];
}

const HANDLE = 'void *';
const PTR = 'void *';
const U32 = 'uint32_t';
const OUT_HANDLE: Param = koffi.out(koffi.pointer('void *'));
const OUT_U32: Param = koffi.out(koffi.pointer('uint32_t'));

type Param = Parameters<LibraryHandle['func']>[3] extends (infer T)[] ? T : never;

export const SDF_FUNCTION_NAMES = [
  'SDF_OpenDevice',
  'SDF_CloseDevice',
  'SDF_OpenSession',
  'SDF_CloseSession',
  'SDF_GetDeviceInfo',
  'SDF_GenerateRandom',
  'SDF_GetPrivateKeyAccessRight',
  'SDF_ReleasePrivateKeyAccessRight',
  'SDF_ExportSignPublicKey_ECC',
  'SDF_ExportEncPublicKey_ECC',
  'SDF_InternalSign_ECC',
  'SDF_InternalVerify_ECC',
  'SDF_ExternalVerify_ECC',
  'SDF_HashInit',
  'SDF_HashUpdate',
  'SDF_HashFinal',
  'SDF_GenerateKeyPair_ECC',
  'SDF_ExternalSign_ECC',
  'SDF_ExternalEncrypt_ECC',
  'SDF_ExternalDecrypt_ECC',
  'SDF_InternalEncrypt_ECC',
  'SDF_InternalDecrypt_ECC',
  'SDF_GenerateKeyWithIPK_ECC',
  'SDF_GenerateKeyWithEPK_ECC',
  'SDF_ImportKeyWithISK_ECC',
  'SDF_GenerateKeyWithKEK',
  'SDF_ImportKeyWithKEK',
  'SDF_DestroyKey',
  'SDF_Encrypt',
  'SDF_Decrypt',
  'SDF_CalculateMAC',
] as const;

export type SdfFunctionName = (typeof SDF_FUNCTION_NAMES)[number];

/** Parameters of every SDF function the binding knows, as the standard declares them. */
const STANDARD_PARAMS: Record<SdfFunctionName, Param[]> = {
  SDF_OpenDevice: [OUT_HANDLE],
  SDF_CloseDevice: [HANDLE],
  SDF_OpenSession: [HANDLE, OUT_HANDLE],
  SDF_CloseSession: [HANDLE],
  SDF_GetDeviceInfo: [HANDLE, PTR],
  SDF_GenerateRandom: [HANDLE, U32, PTR],
  SDF_GetPrivateKeyAccessRight: [HANDLE, U32, PTR, U32],
  SDF_ReleasePrivateKeyAccessRight: [HANDLE, U32],
  SDF_ExportSignPublicKey_ECC: [HANDLE, U32, PTR],
  SDF_ExportEncPublicKey_ECC: [HANDLE, U32, PTR],
  SDF_InternalSign_ECC: [HANDLE, U32, PTR, U32, PTR],
  SDF_InternalVerify_ECC: [HANDLE, U32, PTR, U32, PTR],
  SDF_ExternalVerify_ECC: [HANDLE, U32, PTR, PTR, U32, PTR],
  SDF_HashInit: [HANDLE, U32, PTR, PTR, U32],
  SDF_HashUpdate: [HANDLE, PTR, U32],
  SDF_HashFinal: [HANDLE, PTR, OUT_U32],
  SDF_GenerateKeyPair_ECC: [HANDLE, U32, U32, PTR, PTR],
  SDF_ExternalSign_ECC: [HANDLE, U32, PTR, PTR, U32, PTR],
  SDF_ExternalEncrypt_ECC: [HANDLE, U32, PTR, PTR, U32, PTR],
  SDF_ExternalDecrypt_ECC: [HANDLE, U32, PTR, PTR, PTR, OUT_U32],
  // index first, then uiAlgID, as GmSSL's sdf.h and most vendors declare them
  SDF_InternalEncrypt_ECC: [HANDLE, U32, U32, PTR, U32, PTR],
  SDF_InternalDecrypt_ECC: [HANDLE, U32, U32, PTR, PTR, OUT_U32],
  SDF_GenerateKeyWithIPK_ECC: [HANDLE, U32, U32, PTR, OUT_HANDLE],
  SDF_GenerateKeyWithEPK_ECC: [HANDLE, U32, U32, PTR, PTR, OUT_HANDLE],
  SDF_ImportKeyWithISK_ECC: [HANDLE, U32, PTR, OUT_HANDLE],
  SDF_GenerateKeyWithKEK: [HANDLE, U32, U32, U32, PTR, OUT_U32, OUT_HANDLE],
  SDF_ImportKeyWithKEK: [HANDLE, U32, U32, PTR, U32, OUT_HANDLE],
  SDF_DestroyKey: [HANDLE, HANDLE],
  SDF_Encrypt: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, OUT_U32],
  SDF_Decrypt: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, OUT_U32],
  SDF_CalculateMAC: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, OUT_U32],
};

function paramsFor(name: SdfFunctionName, options: SdfLibraryOptions): Param[] {
  if (name === 'SDF_InternalSign_ECC' && options.internalSignWithAlgId) return [HANDLE, U32, U32, PTR, U32, PTR];
  return STANDARD_PARAMS[name];
}

type KoffiFunction = ReturnType<LibraryHandle['func']>;

/** A loaded SDF library: its functions, called so that a non-zero SDR code becomes an SdfError. */
export class SdfLibrary {
  readonly path: string;
  readonly options: Readonly<Required<Omit<SdfLibraryOptions, 'preload' | 'symbols' | 'profile'>>> &
    Pick<SdfLibraryOptions, 'symbols' | 'preload'>;
  private readonly functions = new Map<SdfFunctionName, KoffiFunction>();
  private readonly missing = new Set<SdfFunctionName>();

  constructor(path: string, settings: SdfLibraryOptions = {}) {
    this.path = path;
    const options = resolveSdfLibraryOptions(settings);
    const unknown = Object.keys(options.symbols ?? {}).filter(
      (name) => !(SDF_FUNCTION_NAMES as readonly string[]).includes(name),
    );
    if (unknown.length > 0) {
      // a typo would otherwise leave the vendor's symbol unused without a word
      throw new RangeError(`the symbol map names ${unknown.join(', ')}, not a GM/T 0018 function the binding calls`);
    }
    this.options = {
      eccFieldBytes: options.eccFieldBytes ?? 64,
      internalSignWithAlgId: options.internalSignWithAlgId ?? false,
      symbols: options.symbols,
      preload: options.preload,
    };
    for (const dependency of options.preload ?? []) loadShared(dependency, true);
    const handle = loadShared(path, false);
    for (const name of SDF_FUNCTION_NAMES) {
      const symbol = options.symbols?.[name] ?? name;
      try {
        this.functions.set(name, handle.func(symbol, 'int', paramsFor(name, options)));
      } catch {
        this.missing.add(name);
      }
    }
  }

  /** Which of the known SDF functions the library exports. */
  exports(): { present: SdfFunctionName[]; missing: SdfFunctionName[] } {
    return {
      present: SDF_FUNCTION_NAMES.filter((name) => !this.missing.has(name)),
      missing: SDF_FUNCTION_NAMES.filter((name) => this.missing.has(name)),
    };
  }

  /** Fails with one error naming every function of `names` the library does not export. */
  require(names: readonly SdfFunctionName[], purpose: string): void {
    const absent = names.filter((name) => this.missing.has(name));
    if (absent.length === 0) return;
    const shown = absent.map((name) => this.symbolOf(name)).join(', ');
    throw new SdfBindingError(
      'SDF_SYMBOL_MISSING',
      `${this.path} does not export ${shown}, needed for ${purpose}` +
        (this.missing.size === SDF_FUNCTION_NAMES.length
          ? ' (it exports no SDF function: is it a GM/T 0018 library?)'
          : ''),
      { libPath: this.path, fn: absent[0] },
    );
  }

  /** Calls on the libuv thread pool, so a slow device never stalls the event loop. */
  call(name: SdfFunctionName, ...args: unknown[]): Promise<void> {
    const fn = this.resolve(name);
    return new Promise((resolve, reject) => {
      fn.async(...args, (err: unknown, code: number) => {
        if (err) reject(err);
        else if (code !== SDR_OK) reject(new SdfError(this.symbolOf(name), code));
        else resolve();
      });
    });
  }

  /** Calls on the calling thread: for scripts and benchmarks; blocks while the device works. */
  callSync(name: SdfFunctionName, ...args: unknown[]): void {
    const code = this.resolve(name)(...args) as number;
    if (code !== SDR_OK) throw new SdfError(this.symbolOf(name), code);
  }

  private symbolOf(name: SdfFunctionName): string {
    return this.options.symbols?.[name] ?? name;
  }

  private resolve(name: SdfFunctionName): KoffiFunction {
    const fn = this.functions.get(name);
    if (!fn) this.require([name], `calling ${name}`);
    return fn as KoffiFunction;
  }
}

let koffiConfigured = false;

/**
 * koffi keeps 8 sets of call memory for async calls by default and maps a fresh 256 KiB set,
 * with a guard page, for every call beyond them, unmapping it afterwards. With a session pool
 * that is most calls, and the unmapping's TLB shootdowns cost more CPU than a fast card's
 * signature (measured: 20 % of a 64-session run). Keeping koffi's maximum of 32 sets avoids it
 * up to 32 sessions. koffi takes settings only before its first library load; if the
 * application loaded one already, its settings stay.
 */
function configureKoffi(): void {
  if (koffiConfigured) return;
  koffiConfigured = true;
  try {
    koffi.config({ ...koffi.config(), resident_async_pools: 32 });
  } catch {
    // already loaded a library: nothing to change any more
  }
}

/** The symbols of this process and the libraries it has loaded (libc among them), through koffi. */
export function loadProcessSymbols(): LibraryHandle {
  configureKoffi();
  return koffi.load(null);
}

function loadShared(path: string, global: boolean): LibraryHandle {
  configureKoffi();
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new SdfBindingError('SDF_LIBRARY_NOT_FOUND', `SDF library ${path} not found (${reason})`, { libPath: path });
  }
  if (!isFile) {
    throw new SdfBindingError('SDF_LIBRARY_NOT_FOUND', `SDF library ${path} is not a file`, { libPath: path });
  }
  try {
    return koffi.load(path, { global });
  } catch (error) {
    throw new SdfBindingError(
      'SDF_LIBRARY_LOAD_FAILED',
      `cannot load SDF library ${path}: ${(error as Error).message}`,
      { libPath: path },
    );
  }
}
