/**
 * The functions of a PKCS#11 module, taken from its C_GetFunctionList and declared through koffi,
 * and calls into them with a deadline. CK_ULONG is C's `unsigned long`, the platform's width.
 */
import koffi from 'koffi';
import { callForeign, type AsyncForeignFunction, type CallWatcher, type ForeignCallSpec } from '../native/async-call';
import { CallDeadlines } from '../native/call-deadlines';
import { LibraryLoadError, loadLibrary, type LoadedLibrary } from '../native/load';
import { CKR } from './constants';
import { Pkcs11BindingError, Pkcs11Error } from './errors';

/**
 * Loads a PKCS#11 module, or a library it needs loaded first (`preload`, with its symbols global);
 * a missing or broken file is a Pkcs11BindingError naming it.
 */
export function loadPkcs11File(path: string, what: 'module' | 'preload'): LoadedLibrary {
  try {
    return loadLibrary(path, what === 'preload');
  } catch (error) {
    if (!(error instanceof LibraryLoadError)) throw error;
    const code = error.failure === 'NOT_FOUND' ? 'PKCS11_LIBRARY_NOT_FOUND' : 'PKCS11_LIBRARY_LOAD_FAILED';
    const name = what === 'module' ? 'PKCS#11 module' : 'pkcs11_preload library';
    throw new Pkcs11BindingError(code, `${name} ${error.message}`, { libPath: path });
  }
}

// Every koffi type here is anonymous: koffi keeps named types once per process, and a second copy
// of this module (the CJS and ESM builds side by side, a bundle, a test runner's fresh module
// registry) would fail on the duplicate name.
export const CK_ATTRIBUTE = koffi.struct({
  type: 'unsigned long',
  pValue: 'void *',
  ulValueLen: 'unsigned long',
});
export const CK_MECHANISM = koffi.struct({
  mechanism: 'unsigned long',
  pParameter: 'void *',
  ulParameterLen: 'unsigned long',
});
const CK_C_INITIALIZE_ARGS = koffi.struct({
  CreateMutex: 'void *',
  DestroyMutex: 'void *',
  LockMutex: 'void *',
  UnlockMutex: 'void *',
  flags: 'unsigned long',
  pReserved: 'void *',
});
const CK_VERSION = koffi.struct({ major: 'uint8_t', minor: 'uint8_t' });
export const CK_INFO = koffi.struct({
  cryptokiVersion: CK_VERSION,
  manufacturerID: koffi.array('uint8_t', 32, 'Array'),
  flags: 'unsigned long',
  libraryDescription: koffi.array('uint8_t', 32, 'Array'),
  libraryVersion: CK_VERSION,
});
export const CK_SLOT_INFO = koffi.struct({
  slotDescription: koffi.array('uint8_t', 64, 'Array'),
  manufacturerID: koffi.array('uint8_t', 32, 'Array'),
  flags: 'unsigned long',
  hardwareVersion: CK_VERSION,
  firmwareVersion: CK_VERSION,
});
export const CK_TOKEN_INFO = koffi.struct({
  label: koffi.array('uint8_t', 32, 'Array'),
  manufacturerID: koffi.array('uint8_t', 32, 'Array'),
  model: koffi.array('uint8_t', 16, 'Array'),
  serialNumber: koffi.array('uint8_t', 16, 'Array'),
  flags: 'unsigned long',
  ulMaxSessionCount: 'unsigned long',
  ulSessionCount: 'unsigned long',
  ulMaxRwSessionCount: 'unsigned long',
  ulRwSessionCount: 'unsigned long',
  ulMaxPinLen: 'unsigned long',
  ulMinPinLen: 'unsigned long',
  ulTotalPublicMemory: 'unsigned long',
  ulFreePublicMemory: 'unsigned long',
  ulTotalPrivateMemory: 'unsigned long',
  ulFreePrivateMemory: 'unsigned long',
  hardwareVersion: CK_VERSION,
  firmwareVersion: CK_VERSION,
  utcTime: koffi.array('uint8_t', 16, 'Array'),
});
export const CK_MECHANISM_INFO = koffi.struct({
  ulMinKeySize: 'unsigned long',
  ulMaxKeySize: 'unsigned long',
  flags: 'unsigned long',
});

/** CK_MECHANISM without parameters (every mechanism the signer uses), encoded once per code. */
const mechanisms = new Map<number, Buffer>();

export function mechanismStruct(mechanism: number): Buffer {
  let struct = mechanisms.get(mechanism);
  if (!struct) {
    struct = Buffer.alloc(koffi.sizeof(CK_MECHANISM));
    koffi.encode(struct, CK_MECHANISM, { mechanism, pParameter: null, ulParameterLen: 0 });
    mechanisms.set(mechanism, struct);
  }
  return struct;
}

const ULONG = 'unsigned long';
const INOUT_ULONG = koffi.inout(koffi.pointer(ULONG));
const OUT_ULONG = koffi.out(koffi.pointer(ULONG));
const PTR = 'void *';

/** Bytes of a CK_ULONG here. */
export const ULONG_BYTES = koffi.sizeof(ULONG);

/**
 * The functions the binding calls: their place in CK_FUNCTION_LIST (after the version) and
 * parameters. Pointer parameters take Buffers the binding sizes, with guard bytes.
 */
export type Pkcs11FunctionName =
  | 'C_Initialize'
  | 'C_Finalize'
  | 'C_GetInfo'
  | 'C_GetSlotList'
  | 'C_GetSlotInfo'
  | 'C_GetTokenInfo'
  | 'C_GetMechanismList'
  | 'C_GetMechanismInfo'
  | 'C_OpenSession'
  | 'C_CloseSession'
  | 'C_Login'
  | 'C_Logout'
  | 'C_GetAttributeValue'
  | 'C_FindObjectsInit'
  | 'C_FindObjects'
  | 'C_FindObjectsFinal'
  | 'C_SignInit'
  | 'C_Sign';

const FUNCTIONS: Record<Pkcs11FunctionName, readonly [number, readonly unknown[]]> = {
  C_Initialize: [0, [koffi.pointer(CK_C_INITIALIZE_ARGS)]],
  C_Finalize: [1, [PTR]],
  C_GetInfo: [2, [PTR]],
  C_GetSlotList: [4, ['uint8_t', PTR, INOUT_ULONG]],
  C_GetSlotInfo: [5, [ULONG, PTR]],
  C_GetTokenInfo: [6, [ULONG, PTR]],
  C_GetMechanismList: [7, [ULONG, PTR, INOUT_ULONG]],
  C_GetMechanismInfo: [8, [ULONG, ULONG, PTR]],
  C_OpenSession: [12, [ULONG, ULONG, PTR, PTR, OUT_ULONG]],
  C_CloseSession: [13, [ULONG]],
  C_Login: [18, [ULONG, ULONG, PTR, ULONG]],
  C_Logout: [19, [ULONG]],
  C_GetAttributeValue: [24, [ULONG, ULONG, koffi.inout(koffi.pointer(CK_ATTRIBUTE)), ULONG]],
  C_FindObjectsInit: [26, [ULONG, koffi.pointer(CK_ATTRIBUTE), ULONG]],
  C_FindObjects: [27, [ULONG, PTR, ULONG, OUT_ULONG]],
  C_FindObjectsFinal: [28, [ULONG]],
  C_SignInit: [42, [ULONG, koffi.pointer(CK_MECHANISM), ULONG]],
  C_Sign: [43, [ULONG, PTR, ULONG, PTR, INOUT_ULONG]],
};

/** Functions 2.x has in CK_FUNCTION_LIST after the version; the list must be at least this long. */
const FUNCTION_LIST_ENTRIES = 68;

type KoffiFunction = ((...args: unknown[]) => unknown) & AsyncForeignFunction;

const prototypes = new Map<Pkcs11FunctionName, ReturnType<typeof koffi.proto>>();

function prototypeOf(name: Pkcs11FunctionName) {
  let proto = prototypes.get(name);
  if (!proto) {
    const [, params] = FUNCTIONS[name];
    proto = koffi.proto(ULONG, params as unknown as string[]);
    prototypes.set(name, proto);
  }
  return proto;
}

export interface Pkcs11CallOptions {
  /** Milliseconds a call may take (0: no deadline). */
  callTimeoutMs: number;
}

/**
 * The function list of each module file, asked for once per thread: a proxy's client module
 * (p11-kit's) hands out a new instance of itself at every C_GetFunctionList, with its own
 * initialisation and sessions, so every caller must keep to the list the module was initialised
 * through.
 */
const functionLists = new WeakMap<LoadedLibrary, unknown>();

function functionListOf(loaded: LoadedLibrary, path: string): unknown {
  let list = functionLists.get(loaded);
  if (list !== undefined) return list;
  if (loaded.definedSymbols?.has('C_GetFunctionList') === false) {
    throw new Pkcs11BindingError(
      'PKCS11_NOT_A_MODULE',
      `${path} does not define C_GetFunctionList: is it a PKCS#11 module?`,
      {
        libPath: path,
        fn: 'C_GetFunctionList',
      },
    );
  }
  const getFunctionList = loaded.handle.func('C_GetFunctionList', ULONG, [koffi.out(koffi.pointer(PTR))]);
  const out: unknown[] = [null];
  const rv = Number(getFunctionList(out));
  if (rv !== CKR.CKR_OK) throw new Pkcs11Error('C_GetFunctionList', rv);
  if (out[0] === null) {
    throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', 'C_GetFunctionList returned CKR_OK and a NULL list', {
      libPath: path,
      fn: 'C_GetFunctionList',
    });
  }
  list = out[0];
  functionLists.set(loaded, list);
  return list;
}

/** A pointer to `address`, taken as an address in another thread. */
export function pointerAt(address: bigint): unknown {
  const cell = Buffer.alloc(8);
  cell.writeBigUInt64LE(address);
  return koffi.decode(cell, PTR);
}

/** The functions `names` of a CK_FUNCTION_LIST, callable through koffi; those it lacks are left out. */
export function functionsIn(
  list: unknown,
  names: readonly Pkcs11FunctionName[],
): Map<Pkcs11FunctionName, KoffiFunction> {
  // The pointers start after CK_VERSION, at the alignment of a pointer.
  const pointers = koffi.decode(list, koffi.sizeof(PTR), PTR, FUNCTION_LIST_ENTRIES) as unknown[];
  const functions = new Map<Pkcs11FunctionName, KoffiFunction>();
  for (const name of names) {
    const pointer = pointers[FUNCTIONS[name][0]];
    if (pointer !== null) functions.set(name, koffi.decode(pointer, prototypeOf(name)) as KoffiFunction);
  }
  return functions;
}

/** The loaded module's functions. */
export class Pkcs11Functions {
  readonly path: string;
  /** The file as loaded; kept so the module is never unloaded under a call. */
  private readonly loaded: LoadedLibrary;
  /** The deadlines of its calls, those of signing threads too. */
  readonly deadlines: CallDeadlines;
  private readonly functions: Map<Pkcs11FunctionName, KoffiFunction>;
  private readonly specs = new Map<Pkcs11FunctionName, ForeignCallSpec>();
  /** CK_FUNCTION_LIST's version, e.g. 2.40 or 3.0. */
  readonly version: { major: number; minor: number };
  /** The list's address, for a signing thread that calls through the same list. */
  readonly functionListAddress: bigint;

  constructor(path: string, options: Pkcs11CallOptions) {
    this.path = path;
    this.deadlines = new CallDeadlines(options.callTimeoutMs);
    this.loaded = loadPkcs11File(path, 'module');
    const list = functionListOf(this.loaded, path);
    this.functionListAddress = BigInt(koffi.address(list));
    this.version = koffi.decode(list, CK_VERSION) as { major: number; minor: number };
    this.functions = functionsIn(list, Object.keys(FUNCTIONS) as Pkcs11FunctionName[]);
  }

  /** The file as loaded, for a signing thread that loads the same copy. */
  get loadedPath(): string {
    return this.loaded.key;
  }

  /** The same object for every Pkcs11Functions of one module file in this process. */
  get fileIdentity(): object {
    return this.loaded;
  }

  /** Calls on the libuv thread pool, with the deadline; a CK_RV other than CKR_OK rejects. */
  call(name: Pkcs11FunctionName, args: unknown[], watcher?: CallWatcher): Promise<void> {
    return callForeign(this, name, args, watcher);
  }

  /** How `name` is called: made once per function, not per call. */
  specFor(name: Pkcs11FunctionName): ForeignCallSpec {
    let spec = this.specs.get(name);
    if (!spec) {
      spec = {
        fn: this.resolve(name),
        deadlines: this.deadlines,
        timeoutError: () => this.timeoutError(name),
        check: (rv) => (Number(rv) === CKR.CKR_OK ? undefined : new Pkcs11Error(name, Number(rv))),
      };
      this.specs.set(name, spec);
    }
    return spec;
  }

  /** The error of a call of `name` past its deadline. */
  timeoutError(name: Pkcs11FunctionName): Pkcs11BindingError {
    return new Pkcs11BindingError(
      'PKCS11_CALL_TIMEOUT',
      `${name} did not return within ${this.deadlines.timeoutMs} ms`,
      {
        libPath: this.path,
        fn: name,
      },
    );
  }

  /** Calls on the calling thread (for benchmarks and quick reads); a CK_RV other than CKR_OK throws. */
  callSync(name: Pkcs11FunctionName, args: unknown[]): void {
    const rv = Number(this.resolve(name)(...args));
    if (rv !== CKR.CKR_OK) throw new Pkcs11Error(name, rv);
  }

  private resolve(name: Pkcs11FunctionName): KoffiFunction {
    const fn = this.functions.get(name);
    if (!fn) {
      throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', `${this.path} has no ${name} in its function list`, {
        libPath: this.path,
        fn: name,
      });
    }
    return fn;
  }

  /** CK_C_INITIALIZE_ARGS asking the module to use the OS's locking (calls come from several threads). */
  static initializeArgs(flags: number) {
    return { CreateMutex: null, DestroyMutex: null, LockMutex: null, UnlockMutex: null, flags, pReserved: null };
  }
}
