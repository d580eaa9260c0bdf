/**
 * Reading a shared library's ELF headers before it is handed to dlopen. dlopen maps the file's
 * PT_LOAD segments without checking that the file holds them, so a truncated download kills the
 * process with SIGBUS at the first touch of a missing page; a library for another machine or word
 * size fails less violently but no more helpfully. The checks here refuse such a file with a
 * reason instead, and list the functions the library itself defines, so that a configured symbol
 * name can be refused when dlsym would only find it in another library (`free` from libc).
 *
 * Every read is bounds-checked against the file and every count is capped by what fits in it:
 * garbage gives an {@link ElfFormatError}, never a RangeError or a long loop.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** Bigger files are refused unread: no cipher-card or PKCS#11 library comes near it. */
const MAX_FILE_BYTES = 1024 ** 3;
/** Longer symbol names are skipped (C++ manglings run to a few hundred bytes). */
const MAX_NAME_BYTES = 4096;

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const EI_NIDENT = 16;
const ET_DYN = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const SHT_STRTAB = 3;
const SHT_DYNSYM = 11;
const SHT_GNU_VERSYM = 0x6fffffff;
const DT_NULL = 0;
const DT_HASH = 4;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_STRSZ = 10;
const DT_GNU_HASH = 0x6ffffef5;
const DT_VERSYM = 0x6ffffff0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STV_DEFAULT = 0;
const STV_PROTECTED = 3;
const VERSYM_HIDDEN = 0x8000;
const EM_S390 = 22;

/** Rejects a file that cannot be a loadable shared library for this process, naming the path. */
export class ElfFormatError extends Error {
  override readonly name = 'ElfFormatError';

  constructor(
    readonly path: string,
    /** Short and human, e.g. `truncated: PT_LOAD segment 2 ends at byte 1843200, the file has 921600 bytes`. */
    readonly reason: string,
  ) {
    super(`${path} is not a usable shared library: ${reason}`);
  }
}

/** The kind of ELF file a process can load: its word size, byte order and machine. */
export interface ElfTarget {
  /** `process.arch` or a name for messages (`x64`). */
  readonly arch: string;
  /** Undefined for an architecture not known here: the class is then not checked. */
  readonly bits?: 32 | 64;
  readonly littleEndian: boolean;
  /** e_machine; undefined for an architecture not known here: the machine is then not checked. */
  readonly machine?: number;
}

export interface SharedObjectFacts {
  readonly path: string;
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  readonly machine: number;
  /**
   * The functions (STT_FUNC, STT_GNU_IFUNC) the file itself defines and exports in its dynamic
   * symbol table: global or weak, default or protected visibility, and not only under a hidden
   * (non-default) symbol version, which dlsym does not see.
   */
  readonly definedSymbols: ReadonlySet<string>;
  /** Where the dynamic symbol table was found: the section headers, or PT_DYNAMIC when they are stripped or unusable. */
  readonly symbolSource: 'section-headers' | 'dynamic-segment';
}

const ARCHES: Readonly<Record<string, { bits: 32 | 64; machine: number }>> = {
  x64: { bits: 64, machine: 62 },
  arm64: { bits: 64, machine: 183 },
  ppc64: { bits: 64, machine: 21 },
  s390x: { bits: 64, machine: 22 },
  riscv64: { bits: 64, machine: 243 },
  loong64: { bits: 64, machine: 258 },
  ia32: { bits: 32, machine: 3 },
  arm: { bits: 32, machine: 40 },
  mips: { bits: 32, machine: 8 },
  mipsel: { bits: 32, machine: 8 },
  ppc: { bits: 32, machine: 20 },
  s390: { bits: 32, machine: 22 },
};

const MACHINE_NAMES: Readonly<Record<number, string>> = {
  2: 'EM_SPARC',
  3: 'EM_386',
  8: 'EM_MIPS',
  20: 'EM_PPC',
  21: 'EM_PPC64',
  22: 'EM_S390',
  40: 'EM_ARM',
  43: 'EM_SPARCV9',
  50: 'EM_IA_64',
  62: 'EM_X86_64',
  183: 'EM_AARCH64',
  243: 'EM_RISCV',
  258: 'EM_LOONGARCH',
};

const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'ET_NONE',
  1: 'ET_REL, an object file',
  2: 'ET_EXEC, an executable',
  4: 'ET_CORE, a core dump',
};

/** The ELF files `arch` (a `process.arch` value) with byte order `byteOrder` can load. */
export function elfTargetFor(arch: string = process.arch, byteOrder: 'BE' | 'LE' = endianness()): ElfTarget {
  return { arch, littleEndian: byteOrder === 'LE', ...ARCHES[arch] };
}

/**
 * Reads `path` and checks that this process could load it as a shared library, without loading it.
 * Any failure, including a missing or unreadable file (reason `cannot open the file (ENOENT)`),
 * a directory or a device, is an {@link ElfFormatError}, so a caller has one error to catch.
 * @throws ElfFormatError naming the path and the reason
 */
export function readSharedObject(path: string, target: ElfTarget = elfTargetFor()): SharedObjectFacts {
  return inspectSharedObject(readRegularFile(path), path, target);
}

/** {@link readSharedObject} on the bytes of a file already read; `path` is for the messages. */
export function inspectSharedObject(
  bytes: Uint8Array,
  path: string,
  target: ElfTarget = elfTargetFor(),
): SharedObjectFacts {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const file = new ElfFile(buffer, path, checkIdentification(buffer, path, target));
  const header = checkHeader(file, target);
  const segments = checkSegments(file, header);
  const table =
    symbolTableFromSections(file, header) ?? symbolTableFromDynamic(file, segments, header.machine === EM_S390);
  return {
    path,
    bits: file.is64 ? 64 : 32,
    littleEndian: file.littleEndian,
    machine: header.machine,
    definedSymbols: definedFunctions(file, table),
    symbolSource: table.source,
  };
}

function readRegularFile(path: string): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new ElfFormatError(path, `cannot open the file (${errorCode(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new ElfFormatError(path, 'a directory, not a file');
    if (!stat.isFile()) throw new ElfFormatError(path, 'not a regular file');
    if (stat.size > MAX_FILE_BYTES) {
      throw new ElfFormatError(path, `${stat.size} bytes, more than any library this reads (${MAX_FILE_BYTES})`);
    }
    return readFileSync(fd);
  } catch (error) {
    if (error instanceof ElfFormatError) throw error;
    throw new ElfFormatError(path, `cannot read the file (${errorCode(error)})`);
  } finally {
    closeSync(fd);
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

interface Identification {
  is64: boolean;
  littleEndian: boolean;
}

function checkIdentification(bytes: Buffer, path: string, target: ElfTarget): Identification {
  const fail = (reason: string): never => {
    throw new ElfFormatError(path, reason);
  };
  if (bytes.length === 0) fail('empty file (0 bytes)');
  const magicBytes = bytes.subarray(0, ELF_MAGIC.length);
  if (!magicBytes.equals(ELF_MAGIC.subarray(0, magicBytes.length))) fail('not an ELF file (no \\x7fELF magic)');
  if (bytes.length < EI_NIDENT) {
    fail(`truncated: the ELF identification needs ${EI_NIDENT} bytes, the file has ${bytes.length}`);
  }
  const elfClass = bytes[4];
  if (elfClass !== 1 && elfClass !== 2) fail(`unknown ELF class ${elfClass}`);
  const bits = elfClass === 2 ? 64 : 32;
  if (target.bits !== undefined && bits !== target.bits) {
    fail(`ELFCLASS${bits} library in a ${target.bits}-bit process`);
  }
  const data = bytes[5];
  if (data !== 1 && data !== 2) fail(`unknown ELF data encoding ${data}`);
  const littleEndian = data === 1;
  if (littleEndian !== target.littleEndian) {
    const order = (little: boolean) => (little ? 'little-endian' : 'big-endian');
    fail(
      `${order(littleEndian)} (ELFDATA2${littleEndian ? 'LSB' : 'MSB'}) library in a ${order(!littleEndian)} process`,
    );
  }
  if (bytes[6] !== 1) fail(`unknown ELF version ${bytes[6]}`);
  return { is64: bits === 64, littleEndian };
}

/** Offsets and sizes of one field: [offset in ELF32, offset in ELF64, size in ELF32, size in ELF64]. */
type Field = readonly [number, number, number, number];

interface Struct<K extends string> {
  /** [size in ELF32, size in ELF64] */
  readonly size: readonly [number, number];
  readonly fields: Readonly<Record<K, Field>>;
}

const EHDR = {
  size: [52, 64],
  fields: {
    type: [16, 16, 2, 2],
    machine: [18, 18, 2, 2],
    phoff: [28, 32, 4, 8],
    shoff: [32, 40, 4, 8],
    phentsize: [42, 54, 2, 2],
    phnum: [44, 56, 2, 2],
    shentsize: [46, 58, 2, 2],
    shnum: [48, 60, 2, 2],
  },
} as const satisfies Struct<string>;

const PHDR = {
  size: [32, 56],
  fields: {
    type: [0, 0, 4, 4],
    offset: [4, 8, 4, 8],
    vaddr: [8, 16, 4, 8],
    filesz: [16, 32, 4, 8],
  },
} as const satisfies Struct<string>;

const SHDR = {
  size: [40, 64],
  fields: {
    type: [4, 4, 4, 4],
    offset: [16, 24, 4, 8],
    size: [20, 32, 4, 8],
    link: [24, 40, 4, 4],
  },
} as const satisfies Struct<string>;

const SYM = {
  size: [16, 24],
  fields: {
    name: [0, 0, 4, 4],
    info: [12, 4, 1, 1],
    other: [13, 5, 1, 1],
    shndx: [14, 6, 2, 2],
  },
} as const satisfies Struct<string>;

const DYN = {
  size: [8, 16],
  fields: {
    tag: [0, 0, 4, 8],
    value: [4, 8, 4, 8],
  },
} as const satisfies Struct<string>;

/** The file's bytes read as fields of its class and byte order, every read bounds-checked. */
class ElfFile {
  readonly is64: boolean;
  readonly littleEndian: boolean;

  constructor(
    readonly bytes: Buffer,
    readonly path: string,
    id: Identification,
  ) {
    this.is64 = id.is64;
    this.littleEndian = id.littleEndian;
  }

  get length(): number {
    return this.bytes.length;
  }

  fail(reason: string): never {
    throw new ElfFormatError(this.path, reason);
  }

  /** Whether [offset, offset + length) lies in the file; false for unsafe or negative numbers. */
  contains(offset: number, length: number): boolean {
    return (
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= this.bytes.length
    );
  }

  /** An unsigned integer; a 64-bit value past 2^53 comes back imprecise but still past any offset in the file. */
  uint(offset: number, size: number): number {
    if (!this.contains(offset, size)) {
      this.fail(`a ${size}-byte field at offset ${offset} lies outside the file (${this.length} bytes)`);
    }
    const b = this.bytes;
    const le = this.littleEndian;
    switch (size) {
      case 1:
        return b[offset];
      case 2:
        return le ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
      case 4:
        return le ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
      default:
        return Number(le ? b.readBigUInt64LE(offset) : b.readBigUInt64BE(offset));
    }
  }

  sizeOf<K extends string>(struct: Struct<K>): number {
    return struct.size[this.is64 ? 1 : 0];
  }

  read<K extends string>(struct: Struct<K>, base: number): Record<K, number> {
    const record = {} as Record<K, number>;
    for (const [name, [offset32, offset64, size32, size64]] of Object.entries<Field>(struct.fields)) {
      record[name as K] = this.is64 ? this.uint(base + offset64, size64) : this.uint(base + offset32, size32);
    }
    return record;
  }

  /** The NUL-terminated name at `offset`, if it ends before `end` and within MAX_NAME_BYTES. */
  name(offset: number, end: number): string | undefined {
    const limit = Math.min(end, offset + MAX_NAME_BYTES, this.length);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= limit) return undefined;
    const nul = this.bytes.subarray(offset, limit).indexOf(0);
    return nul < 0 ? undefined : this.bytes.toString('utf8', offset, offset + nul);
  }
}

type Header = Record<keyof typeof EHDR.fields, number>;

function checkHeader(file: ElfFile, target: ElfTarget): Header {
  const size = file.sizeOf(EHDR);
  if (file.length < size) file.fail(`truncated: the ELF header needs ${size} bytes, the file has ${file.length}`);
  const header = file.read(EHDR, 0);
  if (target.machine !== undefined && header.machine !== target.machine) {
    const ours = `${MACHINE_NAMES[target.machine] ?? 'e_machine'} ${target.machine}`;
    file.fail(`built for ${machineName(header.machine)}, this process is ${target.arch} (${ours})`);
  }
  if (header.type !== ET_DYN) {
    const kind = TYPE_NAMES[header.type];
    file.fail(`not a shared object (e_type ${header.type}${kind ? `, ${kind}` : ''})`);
  }
  return header;
}

function machineName(machine: number): string {
  const name = MACHINE_NAMES[machine];
  return name ? `${name} (${machine})` : `e_machine ${machine}`;
}

interface Segment {
  index: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

interface Segments {
  loads: Segment[];
  dynamic: Segment;
}

function checkSegments(file: ElfFile, header: Header): Segments {
  const entrySize = file.sizeOf(PHDR);
  if (header.phnum === 0) file.fail('no program headers');
  if (header.phentsize !== entrySize) {
    file.fail(`program header entries of ${header.phentsize} bytes, expected ${entrySize}`);
  }
  const tableEnd = header.phoff + header.phnum * entrySize;
  if (!file.contains(header.phoff, header.phnum * entrySize)) {
    file.fail(`truncated: the program header table ends at byte ${tableEnd}, the file has ${file.length} bytes`);
  }
  const loads: Segment[] = [];
  let dynamic: Segment | undefined;
  for (let index = 0; index < header.phnum; index++) {
    const { type, ...placement } = file.read(PHDR, header.phoff + index * entrySize);
    if (type !== PT_LOAD && type !== PT_DYNAMIC) continue;
    const segment = { index, ...placement };
    const name = type === PT_LOAD ? 'PT_LOAD' : 'PT_DYNAMIC';
    if (!file.contains(segment.offset, segment.filesz)) {
      file.fail(
        `truncated: ${name} segment ${index} ends at byte ${segment.offset + segment.filesz}, the file has ${file.length} bytes`,
      );
    }
    if (type === PT_LOAD) loads.push(segment);
    else dynamic ??= segment;
  }
  if (loads.length === 0) file.fail('no PT_LOAD segment');
  if (!dynamic) file.fail('no PT_DYNAMIC segment (not a dynamically linked library)');
  if (!fileOffsetOf(loads, dynamic.vaddr, dynamic.filesz)) {
    file.fail(`the PT_DYNAMIC segment (address ${dynamic.vaddr}) is not inside a PT_LOAD segment's file image`);
  }
  return { loads, dynamic };
}

/**
 * Where the loaded image's bytes at `address` come from in the file, and how many bytes follow
 * there within the same segment; undefined when they are not in any segment's file image (or
 * fewer than `need` bytes are).
 */
function fileOffsetOf(loads: Segment[], address: number, need = 0): { offset: number; available: number } | undefined {
  if (!Number.isSafeInteger(address)) return undefined;
  for (const load of loads) {
    if (!Number.isSafeInteger(load.vaddr) || address < load.vaddr) continue;
    const delta = address - load.vaddr;
    if (delta + need <= load.filesz) return { offset: load.offset + delta, available: load.filesz - delta };
  }
  return undefined;
}

interface SymbolTable {
  source: SharedObjectFacts['symbolSource'];
  offset: number;
  count: number;
  strings: number;
  stringsEnd: number;
  /** The parallel array of 16-bit version indexes, when the file has one that fits. */
  versions?: number;
}

function symbolTableFromSections(file: ElfFile, header: Header): SymbolTable | undefined {
  const entrySize = file.sizeOf(SHDR);
  const { shoff, shnum } = header;
  if (shoff === 0 || shnum === 0 || header.shentsize !== entrySize || !file.contains(shoff, shnum * entrySize)) {
    return undefined;
  }
  const section = (index: number) => file.read(SHDR, shoff + index * entrySize);
  const inFile = (s: { offset: number; size: number }) => file.contains(s.offset, s.size);
  let symbolsIndex = -1;
  for (let index = 0; index < shnum && symbolsIndex < 0; index++) {
    if (section(index).type === SHT_DYNSYM) symbolsIndex = index;
  }
  if (symbolsIndex < 0) return undefined;
  const symbols = section(symbolsIndex);
  if (!inFile(symbols) || symbols.link >= shnum) return undefined;
  const strings = section(symbols.link);
  if (strings.type !== SHT_STRTAB || !inFile(strings)) return undefined;
  const count = Math.floor(symbols.size / file.sizeOf(SYM));
  let versions: number | undefined;
  for (let index = 0; index < shnum && versions === undefined; index++) {
    const s = section(index);
    if (s.type === SHT_GNU_VERSYM && s.link === symbolsIndex && inFile(s) && s.size >= count * 2) versions = s.offset;
  }
  return {
    source: 'section-headers',
    offset: symbols.offset,
    count,
    strings: strings.offset,
    stringsEnd: strings.offset + strings.size,
    versions,
  };
}

function symbolTableFromDynamic(file: ElfFile, segments: Segments, wideHashWords: boolean): SymbolTable {
  const tags = dynamicTags(file, segments.dynamic);
  const locate = (tag: number, what: string) => {
    const address = tags.get(tag);
    if (address === undefined) file.fail(`the dynamic section has no ${what}`);
    const place = fileOffsetOf(segments.loads, address);
    if (!place) file.fail(`${what} (address ${address}) is not inside a PT_LOAD segment's file image`);
    return place;
  };
  const symbols = locate(DT_SYMTAB, 'DT_SYMTAB');
  const strings = locate(DT_STRTAB, 'DT_STRTAB');
  const symbolSize = file.sizeOf(SYM);
  const fits = Math.floor(symbols.available / symbolSize);
  const count = Math.min(symbolCount(file, segments, tags, wideHashWords), fits);
  const stringsSize = Math.min(tags.get(DT_STRSZ) ?? strings.available, strings.available);
  const versionAddress = tags.get(DT_VERSYM);
  const versions = versionAddress === undefined ? undefined : fileOffsetOf(segments.loads, versionAddress, count * 2);
  return {
    source: 'dynamic-segment',
    offset: symbols.offset,
    count,
    strings: strings.offset,
    stringsEnd: strings.offset + stringsSize,
    versions: versions?.offset,
  };
}

/** The first value of each tag up to DT_NULL. */
function dynamicTags(file: ElfFile, dynamic: Segment): Map<number, number> {
  const entrySize = file.sizeOf(DYN);
  const tags = new Map<number, number>();
  for (let offset = dynamic.offset; offset + entrySize <= dynamic.offset + dynamic.filesz; offset += entrySize) {
    const { tag, value } = file.read(DYN, offset);
    if (tag === DT_NULL) break;
    if (!tags.has(tag)) tags.set(tag, value);
  }
  return tags;
}

/**
 * The number of dynamic symbols, which only the hash tables tell: DT_HASH's nchain, or, for
 * DT_GNU_HASH, one past the end of the chain the highest bucket starts.
 */
function symbolCount(file: ElfFile, segments: Segments, tags: Map<number, number>, wideHashWords: boolean): number {
  const table = (tag: number) => {
    const address = tags.get(tag);
    const place = address === undefined ? undefined : fileOffsetOf(segments.loads, address);
    // reads stay inside the segment the table starts in
    return place && { offset: place.offset, end: place.offset + place.available };
  };
  const word = (offset: number, end: number, size = 4) =>
    offset + size <= end ? file.uint(offset, size) : file.fail('a hash table runs past the end of its segment');

  const sysv = table(DT_HASH);
  if (sysv) {
    // s390x is the one 64-bit target whose DT_HASH words are 8 bytes wide
    const size = wideHashWords && file.is64 ? 8 : 4;
    return word(sysv.offset + size, sysv.end, size);
  }
  const gnu = table(DT_GNU_HASH);
  if (!gnu) file.fail('the dynamic section has neither DT_HASH nor DT_GNU_HASH: the symbols cannot be counted');
  const buckets = word(gnu.offset, gnu.end);
  const firstHashed = word(gnu.offset + 4, gnu.end);
  const bloomWords = word(gnu.offset + 8, gnu.end);
  const bucketsStart = gnu.offset + 16 + bloomWords * (file.is64 ? 8 : 4);
  const chainsStart = bucketsStart + buckets * 4;
  if (chainsStart > gnu.end) file.fail('DT_GNU_HASH runs past the end of its segment');
  let last = 0;
  for (let offset = bucketsStart; offset < chainsStart; offset += 4) last = Math.max(last, word(offset, gnu.end));
  if (last < firstHashed) return firstHashed;
  // the chain from the highest bucket holds the last symbols; its final entry has the low bit set
  for (let offset = chainsStart + (last - firstHashed) * 4; ; offset += 4, last++) {
    if (word(offset, gnu.end) & 1) return last + 1;
  }
}

function definedFunctions(file: ElfFile, table: SymbolTable): ReadonlySet<string> {
  const names = new Set<string>();
  const symbolSize = file.sizeOf(SYM);
  for (let index = 0; index < table.count; index++) {
    const symbol = file.read(SYM, table.offset + index * symbolSize);
    const type = symbol.info & 0xf;
    const binding = symbol.info >> 4;
    const visibility = symbol.other & 0x3;
    if (symbol.shndx === 0) continue;
    if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
    if (binding !== STB_GLOBAL && binding !== STB_WEAK) continue;
    if (visibility !== STV_DEFAULT && visibility !== STV_PROTECTED) continue;
    if (table.versions !== undefined && isHiddenVersion(file.uint(table.versions + index * 2, 2))) continue;
    const name = file.name(table.strings + symbol.name, table.stringsEnd);
    if (name) names.add(name);
  }
  return names;
}

/** A non-default version (`name@VERSION`, kept for old binaries) that dlsym without a version skips, as glibc does. */
function isHiddenVersion(version: number): boolean {
  return (version & VERSYM_HIDDEN) !== 0 && (version & 0x7fff) >= 2;
}
