/**
 * Loading a foreign shared library without letting a bad file take the process down. A path
 * with a `/` is read and checked as an ELF shared object first (a truncated download otherwise
 * dies of SIGBUS inside dlopen); a bare name goes to the system's library search unchanged, as
 * dlopen would treat it. Loaded handles are kept for the life of the process: koffi unloads a
 * library whose handle is garbage-collected, and every function pointer taken from it would then
 * jump into unmapped memory.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import koffi, { type LibraryHandle } from 'koffi';
import { ElfFormatError, readSharedObject } from './elf';

export type LibraryLoadFailure = 'NOT_FOUND' | 'LOAD_FAILED';

export class LibraryLoadError extends Error {
  override readonly name = 'LibraryLoadError';

  constructor(
    readonly failure: LibraryLoadFailure,
    readonly libPath: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadedLibrary {
  /** The name or path the library was asked for. */
  readonly requested: string;
  /** The file behind it (symbolic links resolved), or the bare name handed to the system. */
  readonly key: string;
  readonly handle: LibraryHandle;
  /**
   * The functions the file itself defines in its dynamic symbol table; undefined when the file
   * could not be identified (a bare name the system found somewhere).
   */
  readonly definedSymbols: ReadonlySet<string> | undefined;
}

const loaded = new Map<string, LoadedLibrary>();
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

/** True for a name dlopen resolves through the system's search path rather than as a file. */
function isBareLibraryName(path: string): boolean {
  return !path.includes('/');
}

/**
 * Loads `path` once per process (the same file through another path or a link is the same
 * library). `global` makes its symbols available to libraries loaded after it.
 * @throws LibraryLoadError naming the file and the reason
 */
export function loadLibrary(path: string, global = false): LoadedLibrary {
  const key = isBareLibraryName(path) ? path : checkedFile(path);
  const known = loaded.get(key);
  if (known) return known;
  let definedSymbols: ReadonlySet<string> | undefined;
  if (!isBareLibraryName(path)) {
    try {
      definedSymbols = readSharedObject(key).definedSymbols;
    } catch (error) {
      if (!(error instanceof ElfFormatError)) throw error;
      throw new LibraryLoadError('LOAD_FAILED', path, `cannot load ${path}: ${error.reason}`);
    }
  }
  configureKoffi();
  let handle: LibraryHandle;
  try {
    handle = koffi.load(key, { global });
  } catch (error) {
    const reason = (error as Error).message;
    // a bare name the system search did not find is as missing as a path that is not there
    if (isBareLibraryName(path) && /no such file/i.test(reason)) {
      throw new LibraryLoadError('NOT_FOUND', path, `${path} not found by the system's library search (${reason})`);
    }
    throw new LibraryLoadError('LOAD_FAILED', path, `cannot load ${path}: ${reason}`);
  }
  const library = { requested: path, key, handle, definedSymbols: definedSymbols ?? symbolsOfMappedFile(path) };
  loaded.set(key, library);
  return library;
}

function checkedFile(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new LibraryLoadError('NOT_FOUND', path, `${path} not found (${reason})`);
  }
  if (!statSync(real).isFile()) throw new LibraryLoadError('NOT_FOUND', path, `${path} is not a file`);
  return real;
}

/**
 * For a library found by the system search: the file the dynamic loader mapped for it, read from
 * /proc/self/maps (Linux), so its symbols can be checked like those of a path.
 */
function symbolsOfMappedFile(name: string): ReadonlySet<string> | undefined {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'latin1');
  } catch {
    return undefined;
  }
  for (const line of maps.split('\n')) {
    const file = line.slice(line.indexOf('/'));
    if (line.indexOf('/') < 0 || !basename(file).startsWith(name)) continue;
    try {
      return readSharedObject(file).definedSymbols;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
