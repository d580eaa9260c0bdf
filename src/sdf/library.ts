import koffi, { type LibraryHandle } from 'koffi';
import { callForeign, type CallWatcher, type ForeignCallSpec } from '../native/async-call';
import { CallDeadlines, DEFAULT_CALL_TIMEOUT_MS } from '../native/call-deadlines';
import { LibraryLoadError, loadLibrary, type LoadedLibrary } from '../native/load';
import { SerialQueue } from '../native/serial-queue';
import { SDR_OK } from './codes';
import { SdfBindingError, SdfError } from './errors';
import { resolveSdfLibraryOptions } from './profiles';
import type { EccFieldBytes } from './structs';

/**
 * How a library may be called from several threads:
 * - `session`: calls on different sessions run in parallel; opening and closing devices and
 *   sessions run one at a time (libraries keep their session lists unlocked).
 * - `serial`: every call of the library runs one at a time.
 */
export type SdfThreadModel = 'session' | 'serial';

/** How a vendor's library differs from the standard header, and how to call it. */
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
  /** Default `session`. */
  threadModel?: SdfThreadModel;
  /**
   * Milliseconds a device call may take before its operation fails with SDF_CALL_TIMEOUT
   * (default 10 000; 0: no deadline). The call itself cannot be stopped: its session is retired.
   */
  callTimeoutMs?: number;
  /** Algorithm of key wrapping under a KEK: `SGD_SM4_ECB` (default) or `SGD_SM4_CBC` (IV‖ciphertext). */
  kekAlgorithm?: 'SGD_SM4_ECB' | 'SGD_SM4_CBC';
  /** Most random bytes asked for in one SDF_GenerateRandom call (default 256). */
  randomChunkBytes?: number;
}

export { DEFAULT_CALL_TIMEOUT_MS };
const DEFAULT_RANDOM_CHUNK_BYTES = 256;

const HANDLE = 'void *';
const PTR = 'void *';
const U32 = 'uint32_t';
const OUT_HANDLE: Param = koffi.out(koffi.pointer('void *'));
// in: the capacity of the buffer next to it; out: the bytes written (some devices check the capacity)
const INOUT_U32: Param = koffi.inout(koffi.pointer('uint32_t'));

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

const STANDARD_NAMES: ReadonlySet<string> = new Set(SDF_FUNCTION_NAMES);

/** Calls that open or close devices and sessions: never two at once, whatever the thread model. */
const LIFECYCLE: ReadonlySet<SdfFunctionName> = new Set([
  'SDF_OpenDevice',
  'SDF_CloseDevice',
  'SDF_OpenSession',
  'SDF_CloseSession',
]);

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
  SDF_HashFinal: [HANDLE, PTR, INOUT_U32],
  SDF_GenerateKeyPair_ECC: [HANDLE, U32, U32, PTR, PTR],
  SDF_ExternalSign_ECC: [HANDLE, U32, PTR, PTR, U32, PTR],
  SDF_ExternalEncrypt_ECC: [HANDLE, U32, PTR, PTR, U32, PTR],
  SDF_ExternalDecrypt_ECC: [HANDLE, U32, PTR, PTR, PTR, INOUT_U32],
  // index first, then uiAlgID, as GmSSL's sdf.h and most vendors declare them
  SDF_InternalEncrypt_ECC: [HANDLE, U32, U32, PTR, U32, PTR],
  SDF_InternalDecrypt_ECC: [HANDLE, U32, U32, PTR, PTR, INOUT_U32],
  SDF_GenerateKeyWithIPK_ECC: [HANDLE, U32, U32, PTR, OUT_HANDLE],
  SDF_GenerateKeyWithEPK_ECC: [HANDLE, U32, U32, PTR, PTR, OUT_HANDLE],
  SDF_ImportKeyWithISK_ECC: [HANDLE, U32, PTR, OUT_HANDLE],
  SDF_GenerateKeyWithKEK: [HANDLE, U32, U32, U32, PTR, INOUT_U32, OUT_HANDLE],
  SDF_ImportKeyWithKEK: [HANDLE, U32, U32, PTR, U32, OUT_HANDLE],
  SDF_DestroyKey: [HANDLE, HANDLE],
  SDF_Encrypt: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, INOUT_U32],
  SDF_Decrypt: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, INOUT_U32],
  SDF_CalculateMAC: [HANDLE, HANDLE, U32, PTR, PTR, U32, PTR, INOUT_U32],
};

function paramsFor(name: SdfFunctionName, options: SdfLibraryOptions): Param[] {
  if (name === 'SDF_InternalSign_ECC' && options.internalSignWithAlgId) return [HANDLE, U32, U32, PTR, U32, PTR];
  return STANDARD_PARAMS[name];
}

type KoffiFunction = ReturnType<LibraryHandle['func']>;

/** What the calls of one library file share, whichever options they were declared with. */
interface LibraryState {
  /** Lifecycle calls, and every call under the `serial` model. */
  readonly queue: SerialQueue;
  serialAll: boolean;
  /** Signing threads calling the library now (sign-lane.ts): they cannot wait in the queue. */
  signingThreads: number;
}

const states = new WeakMap<LoadedLibrary, LibraryState>();

export type SdfResolvedOptions = Readonly<
  Required<Omit<SdfLibraryOptions, 'preload' | 'symbols' | 'profile'>> & Pick<SdfLibraryOptions, 'symbols' | 'preload'>
>;

/** A loaded SDF library: its functions, called so that a non-zero SDR code becomes an SdfError. */
export class SdfLibrary {
  readonly path: string;
  readonly options: SdfResolvedOptions;
  /** The file as loaded; kept so the library is never unloaded under a call. */
  private readonly loaded: LoadedLibrary;
  private readonly state: LibraryState;
  /** @internal The deadlines of its calls, those of signing threads too. */
  readonly deadlines: CallDeadlines;
  private readonly functions = new Map<SdfFunctionName, KoffiFunction>();
  private readonly missing = new Set<SdfFunctionName>();
  private readonly specs = new Map<SdfFunctionName, ForeignCallSpec>();
  private readonly queuedSpecs = new Map<SdfFunctionName, ForeignCallSpec>();

  constructor(path: string, settings: SdfLibraryOptions = {}) {
    this.path = path;
    const options = resolveSdfLibraryOptions(settings);
    this.options = Object.freeze({
      eccFieldBytes: options.eccFieldBytes ?? 64,
      internalSignWithAlgId: options.internalSignWithAlgId ?? false,
      threadModel: options.threadModel ?? 'session',
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      kekAlgorithm: options.kekAlgorithm ?? 'SGD_SM4_ECB',
      randomChunkBytes: options.randomChunkBytes ?? DEFAULT_RANDOM_CHUNK_BYTES,
      symbols: options.symbols,
      preload: options.preload,
    });
    checkOptions(this.options);
    this.deadlines = new CallDeadlines(this.options.callTimeoutMs);
    for (const dependency of options.preload ?? []) loadOrExplain(dependency, true);
    this.loaded = loadOrExplain(path, false);
    checkSymbolMap(this.options.symbols ?? {}, this.loaded);
    let state = states.get(this.loaded);
    if (!state) states.set(this.loaded, (state = { queue: new SerialQueue(), serialAll: false, signingThreads: 0 }));
    // One file, one set of threads: any caller asking for serial calls gets them for all.
    if (this.options.threadModel === 'serial') {
      if (state.signingThreads > 0) {
        throw new SdfBindingError(
          'SDF_CALL_REFUSED',
          `${path} has signing threads calling it (hsm_sign_threads): it cannot be made serial (hsm_thread_model=serial) beside them`,
          { libPath: path },
        );
      }
      state.serialAll = true;
    }
    this.state = state;
    for (const name of SDF_FUNCTION_NAMES) {
      const symbol = this.symbolOf(name);
      if (this.loaded.definedSymbols !== undefined && !this.loaded.definedSymbols.has(symbol)) {
        this.missing.add(name);
        continue;
      }
      try {
        this.functions.set(name, this.loaded.handle.func(symbol, 'int', paramsFor(name, options)));
      } catch {
        this.missing.add(name);
      }
    }
  }

  /** The same object for every SdfLibrary of one library file in this process. */
  get fileIdentity(): object {
    return this.loaded;
  }

  /** Whether the file's dynamic symbol table defines `symbol` (false when it could not be read). */
  defines(symbol: string): boolean {
    return this.loaded.definedSymbols?.has(symbol) ?? false;
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

  /**
   * Calls on the libuv thread pool, so a slow device never stalls the event loop. Lifecycle calls
   * (and every call under the `serial` model) wait for the one before them. Past the deadline
   * the promise rejects with SDF_CALL_TIMEOUT while the call goes on.
   */
  call(name: SdfFunctionName, args: unknown[], watcher?: CallWatcher): Promise<void> {
    return callForeign(this, name, args, watcher);
  }

  /** How `name` is called: made once per function (and per queueing), not per call. */
  specFor(name: SdfFunctionName): ForeignCallSpec {
    const queued = this.state.serialAll || LIFECYCLE.has(name);
    const cache = queued ? this.queuedSpecs : this.specs;
    let spec = cache.get(name);
    if (!spec) {
      const symbol = this.symbolOf(name);
      spec = {
        fn: this.resolve(name),
        deadlines: this.deadlines,
        timeoutError: () => this.timeoutError(name),
        check: (code) => (code === SDR_OK ? undefined : new SdfError(symbol, code as number)),
        queue: queued ? this.state.queue : undefined,
      };
      cache.set(name, spec);
    }
    return spec;
  }

  /**
   * Calls on the calling thread: for scripts and benchmarks; blocks while the device works, so it
   * has no deadline. Refused under the `serial` model, where it could overlap a queued call.
   */
  callSync(name: SdfFunctionName, args: unknown[]): void {
    if (this.state.serialAll || LIFECYCLE.has(name)) {
      throw new SdfBindingError(
        'SDF_CALL_REFUSED',
        `${name} cannot be called synchronously here: it must wait its turn`,
        {
          fn: name,
          libPath: this.path,
        },
      );
    }
    const code = this.resolve(name)(...args) as number;
    if (code !== SDR_OK) throw new SdfError(this.symbolOf(name), code);
  }

  /**
   * @internal Fails unless `name` may be called on threads of our own (sign-lane.ts): the library
   * exports it and is not limited to one call at a time, which only the libuv queue can keep.
   */
  requireThreadCalls(name: SdfFunctionName): void {
    this.require([name], `calling ${name} on signing threads`);
    if (this.state.serialAll) {
      throw new SdfBindingError(
        'SDF_CALL_REFUSED',
        `${this.path} is called one call at a time (hsm_thread_model=serial): it cannot sign on threads of its own`,
        { fn: name, libPath: this.path },
      );
    }
  }

  /** @internal A signing thread started calling the library (it can no longer be made serial). */
  threadStarted(): void {
    this.state.signingThreads++;
  }

  /** @internal A signing thread ended. */
  threadEnded(): void {
    this.state.signingThreads--;
  }

  /** @internal The path the file was loaded by, for a thread that loads the same copy. */
  get loadedPath(): string {
    return this.loaded.key;
  }

  /** @internal The error of a call of `name` past its deadline. */
  timeoutError(name: SdfFunctionName): SdfBindingError {
    return new SdfBindingError(
      'SDF_CALL_TIMEOUT',
      `${this.symbolOf(name)} did not return within ${this.options.callTimeoutMs} ms (hsm_call_timeout_ms)`,
      { fn: this.symbolOf(name), libPath: this.path },
    );
  }

  /** The symbol the library exports for a standard function. */
  symbolOf(name: SdfFunctionName): string {
    return this.options.symbols?.[name] ?? name;
  }

  private resolve(name: SdfFunctionName): KoffiFunction {
    const fn = this.functions.get(name);
    if (!fn) this.require([name], `calling ${name}`);
    return fn as KoffiFunction;
  }
}

function checkOptions(options: SdfResolvedOptions): void {
  if (options.threadModel !== 'session' && options.threadModel !== 'serial') {
    throw new RangeError(`threadModel must be 'session' or 'serial', got ${String(options.threadModel)}`);
  }
  if (options.kekAlgorithm !== 'SGD_SM4_ECB' && options.kekAlgorithm !== 'SGD_SM4_CBC') {
    throw new RangeError(`kekAlgorithm must be 'SGD_SM4_ECB' or 'SGD_SM4_CBC', got ${String(options.kekAlgorithm)}`);
  }
  const chunk = options.randomChunkBytes;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 0x10000000) {
    throw new RangeError(`randomChunkBytes must be an integer from 1 to 268435456, got ${chunk}`);
  }
}

/**
 * A symbol map may only name standard functions, each mapped to a symbol the library file itself
 * defines, never to another standard function: a map onto `free`, a libc function or the wrong
 * SDF function would be called with arguments it does not take.
 */
function checkSymbolMap(symbols: Readonly<Record<string, string>>, library: LoadedLibrary): void {
  const undefinedSymbols = Object.entries(symbols).filter(
    ([standard, symbol]) =>
      STANDARD_NAMES.has(standard) && !STANDARD_NAMES.has(symbol) && library.definedSymbols?.has(symbol) === false,
  );
  if (undefinedSymbols.length > 0) {
    throw new SdfBindingError(
      'SDF_SYMBOL_MISSING',
      `${library.requested} does not define ${undefinedSymbols.map(([s, v]) => `${v} (mapped for ${s})`).join(', ')}` +
        ': hsm_symbols may only name functions the library itself defines',
      { libPath: library.requested, fn: undefinedSymbols[0][0] },
    );
  }
  const problems: string[] = [];
  for (const [standard, symbol] of Object.entries(symbols)) {
    if (!STANDARD_NAMES.has(standard)) {
      problems.push(`${standard} is not a GM/T 0018 function the binding calls`);
    } else if (symbol !== standard && STANDARD_NAMES.has(symbol)) {
      problems.push(`${standard} is mapped onto ${symbol}, another standard function`);
    } else if (library.definedSymbols === undefined) {
      problems.push(`${standard}=${symbol} cannot be checked: give the library as a path to map its symbols`);
    }
  }
  if (problems.length > 0) throw new RangeError(`hsm_symbols: ${problems.join('; ')}`);
}

function loadOrExplain(path: string, global: boolean): LoadedLibrary {
  try {
    return loadLibrary(path, global);
  } catch (error) {
    if (!(error instanceof LibraryLoadError)) throw error;
    const code = error.failure === 'NOT_FOUND' ? 'SDF_LIBRARY_NOT_FOUND' : 'SDF_LIBRARY_LOAD_FAILED';
    throw new SdfBindingError(code, `SDF library ${error.message}`, { libPath: path });
  }
}
