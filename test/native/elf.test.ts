// The ELF checks run before dlopen: real libraries pass with the functions they define (cross-checked
// against binutils' nm), broken copies of the mock card library are refused with a reason instead of
// crashing the process, and the PT_DYNAMIC, ELF32 and big-endian paths give the same answers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import fc from 'fast-check';
import koffi from 'koffi';
import {
  ElfFormatError,
  elfTargetFor,
  inspectSharedObject,
  readSharedObject,
  type ElfTarget,
  type SharedObjectFacts,
} from '../../src/native/elf';

const MOCK_BUILD = resolve(__dirname, '../../native-bindings/mock-sdf/build');
const MOCK_LIB = join(MOCK_BUILD, 'libgmt0018.so');
const HOST = elfTargetFor();

function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}
const withNm = hasTool('nm') ? test : test.skip;
const withReadelf = hasTool('readelf') ? test : test.skip;
const withBinutils = hasTool('as') && hasTool('ld') && process.arch === 'x64' ? describe : describe.skip;

let work: string;
let mock: Buffer;

beforeAll(() => {
  if (!existsSync(MOCK_LIB)) throw new Error(`${MOCK_LIB} is missing: run npm run build:mock`);
  mock = readFileSync(MOCK_LIB);
  work = mkdtempSync(join(tmpdir(), 'gmt0018-elf-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

let copies = 0;
function writeCopy(bytes: Uint8Array, name = `copy-${++copies}.so`): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

function patched(bytes: Buffer, patch: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  patch(copy);
  return copy;
}

/** The ElfFormatError reading `path` throws, after checking that its message names the path. */
function refusal(path: string, target?: ElfTarget): ElfFormatError {
  try {
    readSharedObject(path, target);
  } catch (error) {
    expect(error).toBeInstanceOf(ElfFormatError);
    const refused = error as ElfFormatError;
    expect(refused.message).toContain(path);
    expect(refused.message).toContain(refused.reason);
    expect(refused.path).toBe(path);
    return refused;
  }
  throw new Error(`${path} was accepted`);
}

function sorted(names: Iterable<string>): string[] {
  return [...names].sort();
}

/**
 * What binutils says the file defines, filtered like the module: functions (FUNC, or class `i`
 * for IFUNC), global or weak (an upper-case class), not only under a hidden version (`name@V`
 * without a `name@@V` default).
 */
function nmDefinedFunctions(path: string): Set<string> {
  const result = spawnSync('nm', ['-D', '--defined-only', '--format=sysv', path], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`nm ${path} failed: ${result.stderr}`);
  const names = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const columns = line.split('|').map((column) => column.trim());
    if (columns.length < 7) continue;
    const [name, , kind, type] = columns;
    const isFunction = kind === 'i' || (type === 'FUNC' && /^[A-Z]$/.test(kind));
    const hiddenVersion = name.includes('@') && !name.includes('@@');
    if (isFunction && !hiddenVersion) names.add(name.replace(/@.*/, ''));
  }
  return names;
}

/** Names that nm shows only as `name@VERSION`: defined, but not what dlsym(name) finds. */
function nmHiddenVersionOnly(path: string): string[] {
  const out = spawnSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout;
  const hidden = new Set<string>();
  const visible = new Set<string>();
  for (const line of out.split('\n')) {
    const [, kind, name] = line.trim().split(/\s+/);
    if (!name || !/^[TWi]$/.test(kind)) continue;
    const at = name.indexOf('@');
    if (at < 0 || name.includes('@@')) visible.add(name.replace(/@.*/, ''));
    else hidden.add(name.slice(0, at));
  }
  return [...hidden].filter((name) => !visible.has(name)).sort();
}

/** A library of this machine by soname: the one this process mapped, else the ldconfig cache's. */
function systemLibrary(soname: string): string {
  const maps = readFileSync('/proc/self/maps', 'latin1');
  const mapped = maps
    .split('\n')
    .map((line) => line.slice(line.indexOf('/')))
    .find((file) => file.startsWith('/') && basename(file) === soname);
  if (mapped) return mapped;
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of cache.split('\n')) {
    const match = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
    if (!match || match[1] !== soname) continue;
    try {
      readSharedObject(match[3]);
      return match[3];
    } catch {
      // another architecture's copy: keep looking
    }
  }
  throw new Error(`${soname} not found in /proc/self/maps nor ldconfig -p`);
}

// An independent minimal reader of the ELF64 little-endian mock (not the module under test),
// for where the loader's segments end and where the headers are.
interface Ph {
  at: number;
  type: number;
  offset: number;
  filesz: number;
}
function programHeaders(bytes: Buffer): Ph[] {
  expect([bytes[4], bytes[5]]).toEqual([2, 1]);
  const phoff = Number(bytes.readBigUInt64LE(32));
  return Array.from({ length: bytes.readUInt16LE(56) }, (_, index) => {
    const at = phoff + index * bytes.readUInt16LE(54);
    return {
      at,
      type: bytes.readUInt32LE(at),
      offset: Number(bytes.readBigUInt64LE(at + 8)),
      filesz: Number(bytes.readBigUInt64LE(at + 32)),
    };
  });
}
function endOfLoadSegments(bytes: Buffer): number {
  return Math.max(...programHeaders(bytes).map((ph) => (ph.type === 1 ? ph.offset + ph.filesz : 0)));
}
function dynsymSectionHeader(bytes: Buffer): number {
  const shoff = Number(bytes.readBigUInt64LE(40));
  for (let index = 0; index < bytes.readUInt16LE(60); index++) {
    const at = shoff + index * 64;
    if (bytes.readUInt32LE(at + 4) === 11) return at;
  }
  throw new Error('no .dynsym section header');
}
const E_SHOFF = 40;

describe('real libraries pass with the functions they define', () => {
  test('the mock card library', () => {
    const facts = readSharedObject(MOCK_LIB);
    expect(facts).toMatchObject({
      path: MOCK_LIB,
      bits: HOST.bits,
      littleEndian: HOST.littleEndian,
      machine: HOST.machine,
      symbolSource: 'section-headers',
    });
    for (const name of ['SDF_OpenDevice', 'SDF_InternalSign_ECC', 'SDF_CloseDevice', 'MOCK_SetFault']) {
      expect(facts.definedSymbols).toContain(name);
    }
    // imported from libcrypto and libc, and an internal function the file has (see below) but does not export
    for (const name of ['malloc', 'free', 'EVP_DigestInit_ex', 'sm2_sign']) {
      expect(facts.definedSymbols).not.toContain(name);
    }
  });

  withNm(
    'the mock defines sm2_sign and imports malloc, EVP_DigestInit_ex (so the exclusions above mean something)',
    () => {
      const all = spawnSync('nm', [MOCK_LIB], { encoding: 'utf8' }).stdout;
      expect(all).toMatch(/^[0-9a-f]+ t sm2_sign$/m);
      const imports = spawnSync('nm', ['-D', '--undefined-only', MOCK_LIB], { encoding: 'utf8' }).stdout;
      expect(imports).toMatch(/ U malloc@/);
      expect(imports).toMatch(/ U EVP_DigestInit_ex@/);
    },
  );

  const libraries = (): Array<[string, string]> => [
    ['mock (standard)', MOCK_LIB],
    ...['bits256', 'algid', 'standard']
      .map((variant): [string, string] => [`mock (${variant})`, join(MOCK_BUILD, variant, 'libgmt0018.so')])
      .filter(([, path]) => existsSync(path)),
    ['libc', systemLibrary('libc.so.6')],
    ['libcrypto', systemLibrary('libcrypto.so.3')],
  ];

  withNm('every library: the same set as nm -D --defined-only, through sections and through PT_DYNAMIC', () => {
    for (const [label, path] of libraries()) {
      const facts = readSharedObject(path);
      const expected = sorted(nmDefinedFunctions(path));
      expect({ label, names: sorted(facts.definedSymbols) }).toEqual({ label, names: expected });
      const stripped = inspectSharedObject(
        patched(readFileSync(path), (copy) => copy.writeBigUInt64LE(0n, E_SHOFF)),
        path,
      );
      expect(stripped.symbolSource).toBe('dynamic-segment');
      expect({ label, names: sorted(stripped.definedSymbols) }).toEqual({ label, names: expected });
    }
  });

  test('libc defines malloc and libcrypto EVP_DigestInit_ex', () => {
    const libc = readSharedObject(systemLibrary('libc.so.6'));
    expect(libc.definedSymbols).toContain('malloc');
    expect(libc.definedSymbols).toContain('free');
    expect(libc.definedSymbols.size).toBeGreaterThan(1000);
    const libcrypto = readSharedObject(systemLibrary('libcrypto.so.3'));
    expect(libcrypto.definedSymbols).toContain('EVP_DigestInit_ex');
    expect(libcrypto.definedSymbols).not.toContain('malloc');
  });

  withNm('a name libc defines only under an old hidden version is left out, as dlsym does not find it', () => {
    const libcPath = systemLibrary('libc.so.6');
    const hiddenOnly = nmHiddenVersionOnly(libcPath).slice(0, 5);
    const libc = readSharedObject(libcPath);
    const handle = koffi.load(libcPath);
    for (const name of hiddenOnly) {
      expect(libc.definedSymbols).not.toContain(name);
      expect(() => handle.func(`void ${name}(void)`)).toThrow(/Cannot find function/);
    }
  });
});

describe('truncated copies of the mock are refused', () => {
  test('at 0, 3, 16, 63, 64, 1000, every 4096 bytes and full size - 1: refused unless every PT_LOAD is whole', () => {
    const loadEnd = endOfLoadSegments(mock);
    const sizes = [0, 3, 16, 63, 64, 1000];
    for (let size = 4096; size < mock.length; size += 4096) sizes.push(size);
    sizes.push(mock.length - 1);
    const full = sorted(readSharedObject(MOCK_LIB).definedSymbols);
    let refused = 0;
    let accepted = 0;
    for (const size of sizes) {
      const path = writeCopy(mock.subarray(0, size), `truncated-${size}.so`);
      if (size < loadEnd) {
        const { reason } = refusal(path);
        expect({ size, reason }).toEqual({
          size,
          reason: size === 0 ? 'empty file (0 bytes)' : expect.stringMatching(/^truncated: /),
        });
        refused++;
      } else {
        // Only the tail dlopen never maps is gone (.symtab, .strtab, the section headers): such a
        // copy loads fine (see the koffi test below), and its symbols come from PT_DYNAMIC.
        const facts = readSharedObject(path);
        expect(facts.symbolSource).toBe('dynamic-segment');
        expect(sorted(facts.definedSymbols)).toEqual(full);
        accepted++;
      }
    }
    expect(refused).toBeGreaterThan(10);
    expect(accepted).toBeGreaterThan(0);
    expect(refusal(writeCopy(mock.subarray(0, 1000))).reason).toMatch(
      /^truncated: PT_LOAD segment \d+ ends at byte \d+, the file has 1000 bytes$/,
    );
    expect(refusal(writeCopy(mock.subarray(0, 63))).reason).toBe(
      'truncated: the ELF header needs 64 bytes, the file has 63',
    );
    expect(refusal(writeCopy(mock.subarray(0, 3))).reason).toBe(
      'truncated: the ELF identification needs 16 bytes, the file has 3',
    );
  });

  test('why: dlopen of a copy cut inside its segments kills the process with SIGBUS, a tail cut loads', () => {
    const loadEnd = endOfLoadSegments(mock);
    const cutInside = writeCopy(mock.subarray(0, Math.floor((loadEnd - 1) / 4096) * 4096), 'cut-inside.so');
    const cutTail = writeCopy(mock.subarray(0, mock.length - 1), 'cut-tail.so');
    expect(() => readSharedObject(cutInside)).toThrow(ElfFormatError);
    const load = (path: string) =>
      spawnSync(
        process.execPath,
        [
          '-e',
          `const koffi = require(${JSON.stringify(require.resolve('koffi'))});
           koffi.load(process.argv[1]).func('int SDF_OpenDevice(void **)');
           console.log('loaded');`,
          path,
        ],
        { cwd: work, encoding: 'utf8', timeout: 20_000 },
      );
    const crashed = load(cutInside);
    expect(crashed.stdout).not.toContain('loaded');
    expect(['SIGBUS', 'SIGSEGV']).toContain(crashed.signal);
    const fine = load(cutTail);
    expect({ status: fine.status, stdout: fine.stdout.trim() }).toEqual({ status: 0, stdout: 'loaded' });
  });
});

describe('other broken or foreign files are refused with a reason', () => {
  const ownBits = HOST.bits === 64 ? 2 : 1;

  test('e_machine of another machine', () => {
    const other = HOST.machine === 183 ? 62 : 183;
    const path = writeCopy(patched(mock, (copy) => copy.writeUInt16LE(other, 18)));
    const { reason } = refusal(path);
    expect(reason).toMatch(
      new RegExp(`^built for EM_\\w+ \\(${other}\\), this process is ${process.arch} \\(EM_\\w+ \\d+\\)$`),
    );
    if (process.arch === 'x64') expect(reason).toBe('built for EM_AARCH64 (183), this process is x64 (EM_X86_64 62)');
  });

  test('the other ELF class', () => {
    const path = writeCopy(patched(mock, (copy) => (copy[4] = 3 - ownBits)));
    expect(refusal(path).reason).toBe(
      HOST.bits === 64 ? 'ELFCLASS32 library in a 64-bit process' : 'ELFCLASS64 library in a 32-bit process',
    );
  });

  test('the other byte order, an unknown class, e_type ET_EXEC, no PT_DYNAMIC, odd program header entries', () => {
    const order = writeCopy(patched(mock, (copy) => (copy[5] = copy[5] === 1 ? 2 : 1)));
    expect(refusal(order).reason).toMatch(/^big-endian \(ELFDATA2MSB\) library in a little-endian process$|^little/);
    expect(refusal(writeCopy(patched(mock, (copy) => (copy[4] = 7)))).reason).toBe('unknown ELF class 7');
    const exec = writeCopy(patched(mock, (copy) => copy.writeUInt16LE(2, 16)));
    expect(refusal(exec).reason).toBe('not a shared object (e_type 2, ET_EXEC, an executable)');
    const dynamic = programHeaders(mock).find((ph) => ph.type === 2);
    const noDynamic = writeCopy(patched(mock, (copy) => copy.writeUInt32LE(0, dynamic!.at)));
    expect(refusal(noDynamic).reason).toBe('no PT_DYNAMIC segment (not a dynamically linked library)');
    const entries = writeCopy(patched(mock, (copy) => copy.writeUInt16LE(40, 54)));
    expect(refusal(entries).reason).toBe('program header entries of 40 bytes, expected 56');
    const table = writeCopy(patched(mock, (copy) => copy.writeBigUInt64LE(BigInt(mock.length - 100), 32)));
    expect(refusal(table).reason).toMatch(/^truncated: the program header table ends at byte \d+/);
  });

  test('bad magic, a text file, an empty file, a directory, a device, a missing path', () => {
    const notElf = 'not an ELF file (no \\x7fELF magic)';
    expect(refusal(writeCopy(patched(mock, (copy) => (copy[1] = 0x46)))).reason).toBe(notElf);
    expect(refusal(writeCopy(Buffer.from('INPUT(libfoo.so.1)\n'), 'linker-script.so')).reason).toBe(notElf);
    expect(refusal(writeCopy(Buffer.alloc(0), 'empty.so')).reason).toBe('empty file (0 bytes)');
    const directory = join(work, 'dir.so');
    mkdirSync(directory);
    expect(refusal(directory).reason).toBe('a directory, not a file');
    expect(refusal('/dev/null').reason).toBe('not a regular file');
    const missing = join(work, 'missing.so');
    expect(refusal(missing).reason).toBe('cannot open the file (ENOENT)');
  });
});

describe('a stripped or broken section header table: the symbols come from PT_DYNAMIC', () => {
  withReadelf('the mock has DT_GNU_HASH and no DT_HASH, so this exercises the GNU hash walk', () => {
    const dynamic = spawnSync('readelf', ['-d', MOCK_LIB], { encoding: 'utf8' }).stdout;
    expect(dynamic).toContain('(GNU_HASH)');
    expect(dynamic).not.toMatch(/\(HASH\)/);
  });

  test.each([
    ['e_shoff zeroed', (copy: Buffer) => copy.writeBigUInt64LE(0n, E_SHOFF)],
    ['e_shoff garbage', (copy: Buffer) => copy.writeBigUInt64LE(0xdeadbeefdeadbeefn, E_SHOFF)],
    ['e_shoff just past the end', (copy: Buffer) => copy.writeBigUInt64LE(BigInt(copy.length - 64), E_SHOFF)],
    ['e_shnum garbage', (copy: Buffer) => copy.writeUInt16LE(0xffff, 60)],
    ['e_shentsize garbage', (copy: Buffer) => copy.writeUInt16LE(63, 58)],
    ['.dynsym sh_offset garbage', (copy: Buffer) => copy.writeBigUInt64LE(1n << 40n, dynsymSectionHeader(copy) + 24)],
    ['.dynsym sh_link garbage', (copy: Buffer) => copy.writeUInt32LE(9999, dynsymSectionHeader(copy) + 40)],
  ])('%s', (_label, patch) => {
    const expected = sorted(readSharedObject(MOCK_LIB).definedSymbols);
    const facts = readSharedObject(writeCopy(patched(mock, patch)));
    expect(facts.symbolSource).toBe('dynamic-segment');
    expect(sorted(facts.definedSymbols)).toEqual(expected);
  });
});

withBinutils('ELF32, x32 and DT_HASH libraries linked by binutils', () => {
  const source = `
	.text
	.globl exported
	.type exported, @function
exported: ret
	.weak weak_one
	.type weak_one, @function
weak_one: ret
	.globl protected_one
	.protected protected_one
	.type protected_one, @function
protected_one: ret
	.globl hidden_one
	.hidden hidden_one
	.type hidden_one, @function
hidden_one: ret
	.globl picked
	.type picked, @gnu_indirect_function
picked: ret
	.globl compat_old
	.type compat_old, @function
compat_old: ret
	.globl compat_new
	.type compat_new, @function
compat_new: ret
	.symver compat_old, compat@V1
	.symver compat_new, compat@@V2
	.globl gone_impl
	.type gone_impl, @function
gone_impl: ret
	.symver gone_impl, gone@V1
	.data
	.globl an_object
	.type an_object, @object
an_object: .dc.a puts
`;
  const versions =
    'V1 { global: exported; weak_one; protected_one; picked; an_object; compat; gone; local: *; };\nV2 { global: compat; } V1;\n';
  // hidden_one is not exported, an_object is no function, puts is imported, gone exists only as gone@V1
  const expected = ['compat', 'exported', 'picked', 'protected_one', 'weak_one'];

  const targets: Array<[string, string, ElfTarget]> = [
    ['elf_i386', '--32', elfTargetFor('ia32', 'LE')],
    ['elf_x86_64', '--64', elfTargetFor('x64', 'LE')],
    ['elf32_x86_64', '--x32', { arch: 'x32', bits: 32, littleEndian: true, machine: 62 }],
  ];
  const link = (emulation: string, asFlag: string, hashStyle: string): string => {
    const base = join(work, `${emulation}-${hashStyle}`);
    writeFileSync(`${base}.s`, source);
    writeFileSync(`${base}.map`, versions);
    for (const [tool, args] of [
      ['as', [asFlag, `${base}.s`, '-o', `${base}.o`]],
      [
        'ld',
        [
          '-m',
          emulation,
          '-shared',
          `--hash-style=${hashStyle}`,
          `--version-script=${base}.map`,
          '-o',
          `${base}.so`,
          `${base}.o`,
        ],
      ],
    ] as const) {
      const result = spawnSync(tool, args, { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${result.stderr}`);
    }
    return `${base}.so`;
  };

  for (const [emulation, asFlag, target] of targets) {
    for (const hashStyle of ['sysv', 'gnu', 'both']) {
      test(`${emulation} --hash-style=${hashStyle}`, () => {
        const path = link(emulation, asFlag, hashStyle);
        const facts = readSharedObject(path, target);
        expect(facts).toMatchObject({ bits: target.bits, machine: target.machine, symbolSource: 'section-headers' });
        expect(sorted(facts.definedSymbols)).toEqual(expected);
        if (hasTool('nm')) expect(sorted(nmDefinedFunctions(path))).toEqual(expected);
        const bytes = readFileSync(path);
        const shoff = target.bits === 64 ? E_SHOFF : 32;
        const stripped = patched(bytes, (copy) => copy.fill(0, shoff, shoff + target.bits! / 8));
        const viaDynamic = inspectSharedObject(stripped, path, target);
        expect(viaDynamic.symbolSource).toBe('dynamic-segment');
        expect(sorted(viaDynamic.definedSymbols)).toEqual(expected);
        if (target.bits === 32) expect(refusal(path).reason).toBe('ELFCLASS32 library in a 64-bit process');
      });
    }
  }

  test('x32 (ELFCLASS32, EM_X86_64) is refused for ia32: the machine differs', () => {
    const path = link('elf32_x86_64', '--x32', 'gnu');
    expect(refusal(path, elfTargetFor('ia32', 'LE')).reason).toBe(
      'built for EM_X86_64 (62), this process is ia32 (EM_386 3)',
    );
  });

  test('dlsym agrees: gone (only gone@V1) is not found, compat (compat@@V2) is', () => {
    const handle = koffi.load(link('elf_x86_64', '--64', 'gnu'));
    expect(() => handle.func('void gone(void)')).toThrow(/Cannot find function/);
    expect(() => handle.func('void compat(void)')).not.toThrow();
  });
});

// Big-endian and other layouts no toolchain here produces: written by this small independent
// writer, and checked with readelf so the writer's mistakes cannot hide the reader's.
interface SyntheticSymbol {
  name: string;
  type: number;
  bind: number;
  visibility: number;
  defined: boolean;
}

function synthesize(
  target: ElfTarget,
  hash: 'sysv' | 'gnu',
  withSections: boolean,
  symbols: SyntheticSymbol[],
): Buffer {
  const is64 = target.bits === 64;
  const word = is64 ? 8 : 4;
  const ordered = [
    ...symbols.filter((s) => s.bind === 0),
    ...symbols.filter((s) => s.bind !== 0 && !s.defined),
    ...symbols.filter((s) => s.bind !== 0 && s.defined),
  ];
  const firstGlobal = 1 + symbols.filter((s) => s.bind === 0).length;
  const firstHashed = ordered.length + 1 - symbols.filter((s) => s.bind !== 0 && s.defined).length;
  const strings = Buffer.from(`\0${ordered.map((s) => `${s.name}\0`).join('')}`, 'latin1');
  const nameAt = (index: number) => strings.indexOf(`\0${ordered[index].name}\0`) + 1;
  const hashWord = hash === 'sysv' && target.machine === 22 && is64 ? 8 : 4;
  const align = (n: number) => Math.ceil(n / 8) * 8;
  const [ehSize, phSize, shSize, symSize] = is64 ? [64, 56, 64, 24] : [52, 32, 40, 16];
  const symbolCount = ordered.length + 1;
  const hashed = symbolCount - firstHashed;
  const phOff = ehSize;
  const strOff = phOff + 2 * phSize;
  const symOff = align(strOff + strings.length);
  const hashOff = symOff + symbolCount * symSize;
  const hashSize = hash === 'sysv' ? (3 + symbolCount) * hashWord : 16 + word + 4 + 4 * hashed;
  const dynOff = align(hashOff + hashSize);
  const dynEnd = dynOff + 6 * 2 * word;
  // readelf finds the sections it checks by name
  const sectionNames = Buffer.from('\0.dynstr\0.dynsym\0.dynamic\0.shstrtab\0', 'latin1');
  const namesOff = dynEnd;
  const shOff = align(namesOff + sectionNames.length);
  const total = withSections ? shOff + 5 * shSize : dynEnd;
  const out = Buffer.alloc(total);
  const put = (offset: number, size: number, value: number) => {
    const le = target.littleEndian;
    if (size === 1) out.writeUInt8(value, offset);
    else if (size === 2) (le ? out.writeUInt16LE : out.writeUInt16BE).call(out, value, offset);
    else if (size === 4) (le ? out.writeUInt32LE : out.writeUInt32BE).call(out, value >>> 0, offset);
    else (le ? out.writeBigUInt64LE : out.writeBigUInt64BE).call(out, BigInt(value), offset);
  };

  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, target.littleEndian ? 1 : 2, 1]);
  put(16, 2, 3); // ET_DYN
  put(18, 2, target.machine!);
  put(20, 4, 1);
  put(24 + word, word, phOff);
  put(24 + 2 * word, word, withSections ? shOff : 0);
  put(28 + 3 * word, 2, ehSize);
  put(30 + 3 * word, 2, phSize);
  put(32 + 3 * word, 2, 2);
  put(34 + 3 * word, 2, shSize);
  put(36 + 3 * word, 2, withSections ? 5 : 0);
  put(38 + 3 * word, 2, withSections ? 4 : 0);

  const programHeader = (at: number, type: number, offset: number, size: number) => {
    put(at, 4, type);
    put(at + (is64 ? 4 : 24), 4, 7); // p_flags RWX
    put(at + (is64 ? 8 : 4), word, offset);
    put(at + (is64 ? 16 : 8), word, offset); // p_vaddr = p_offset
    put(at + (is64 ? 24 : 12), word, offset);
    put(at + (is64 ? 32 : 16), word, size);
    put(at + (is64 ? 40 : 20), word, size);
    put(at + (is64 ? 48 : 28), word, type === 1 ? 0x1000 : word);
  };
  programHeader(phOff, 1, 0, total);
  programHeader(phOff + phSize, 2, dynOff, dynEnd - dynOff);

  out.set(strings, strOff);
  ordered.forEach((symbol, index) => {
    const at = symOff + (index + 1) * symSize;
    put(at, 4, nameAt(index));
    put(at + (is64 ? 4 : 12), 1, (symbol.bind << 4) | symbol.type);
    put(at + (is64 ? 5 : 13), 1, symbol.visibility);
    put(at + (is64 ? 6 : 14), 2, symbol.defined ? 1 : 0);
    put(at + (is64 ? 8 : 4), word, symbol.defined ? 0x40 + index : 0);
  });

  if (hash === 'sysv') {
    // one bucket holding every symbol: bucket[0] = last, chain[i] = i - 1
    put(hashOff, hashWord, 1);
    put(hashOff + hashWord, hashWord, symbolCount);
    put(hashOff + 2 * hashWord, hashWord, symbolCount - 1);
    for (let i = 1; i < symbolCount; i++) put(hashOff + (3 + i) * hashWord, hashWord, i - 1);
  } else {
    const gnuHash = (name: string) => [...name].reduce((h, c) => (h * 33 + c.charCodeAt(0)) >>> 0, 5381);
    put(hashOff, 4, 1);
    put(hashOff + 4, 4, firstHashed);
    put(hashOff + 8, 4, 1);
    put(hashOff + 12, 4, 6);
    out.fill(0xff, hashOff + 16, hashOff + 16 + word); // a bloom filter that lets every name through
    put(hashOff + 16 + word, 4, hashed > 0 ? firstHashed : 0);
    for (let i = 0; i < hashed; i++) {
      const h = gnuHash(ordered[firstHashed - 1 + i].name);
      put(hashOff + 20 + word + 4 * i, 4, i === hashed - 1 ? h | 1 : h & ~1);
    }
  }

  const tags: Array<[number, number]> = [
    [hash === 'sysv' ? 4 : 0x6ffffef5, hashOff],
    [5, strOff],
    [6, symOff],
    [10, strings.length],
    [11, symSize],
    [0, 0],
  ];
  tags.forEach(([tag, value], index) => {
    put(dynOff + index * 2 * word, word, tag);
    put(dynOff + index * 2 * word + word, word, value);
  });

  if (withSections) {
    const sectionHeader = (name: string, type: number, offset: number, size: number, link = 0, entsize = 0) => {
      const index = ['', '.dynstr', '.dynsym', '.dynamic', '.shstrtab'].indexOf(name);
      const at = shOff + index * shSize;
      put(at, 4, sectionNames.indexOf(`\0${name}\0`) + 1);
      put(at + 4, 4, type);
      put(at + (is64 ? 16 : 12), word, offset); // sh_addr
      put(at + (is64 ? 24 : 16), word, offset);
      put(at + (is64 ? 32 : 20), word, size);
      put(at + (is64 ? 40 : 24), 4, link);
      put(at + (is64 ? 44 : 28), 4, type === 11 ? firstGlobal : 0);
      put(at + (is64 ? 56 : 36), word, entsize);
    };
    sectionHeader('.dynstr', 3, strOff, strings.length);
    sectionHeader('.dynsym', 11, symOff, symbolCount * symSize, 1, symSize);
    sectionHeader('.dynamic', 6, dynOff, dynEnd - dynOff, 1, 2 * word);
    sectionHeader('.shstrtab', 3, namesOff, sectionNames.length);
    out.set(sectionNames, namesOff);
  }
  return out;
}

/** readelf's view of a file's dynamic symbols, filtered like the module. */
function readelfDefinedFunctions(path: string, viaDynamic: boolean): string[] {
  // binutils 2.40 prints nothing for -D --dyn-syms; -D -s reads the table through PT_DYNAMIC
  const args = ['-W', ...(viaDynamic ? ['-D', '-s'] : ['--dyn-syms']), path];
  const result = spawnSync('readelf', args, { encoding: 'utf8' });
  if (result.status !== 0 || result.stderr) throw new Error(`readelf ${args.join(' ')}: ${result.stderr}`);
  const names: string[] = [];
  for (const line of result.stdout.split('\n')) {
    const m = /^\s*\d+: [0-9a-f]+\s+\d+ (\w+|<OS specific>: 10)\s+(\w+)\s+(\w+)\s+(\w+) (\S+)$/.exec(line);
    if (!m) continue;
    const [, type, bind, visibility, ndx, name] = m;
    if (
      ['FUNC', 'IFUNC', '<OS specific>: 10'].includes(type) &&
      ['GLOBAL', 'WEAK'].includes(bind) &&
      ['DEFAULT', 'PROTECTED'].includes(visibility) &&
      ndx !== 'UND'
    ) {
      names.push(name);
    }
  }
  return names.sort();
}

describe('big-endian and other layouts (synthetic files)', () => {
  const S = (name: string, type: number, bind: number, visibility = 0, defined = true): SyntheticSymbol => ({
    name,
    type,
    bind,
    visibility,
    defined,
  });
  const symbols = [
    S('SDF_OpenDevice', 2, 1),
    S('vendor_weak', 2, 2),
    S('vendor_protected', 2, 1, 3),
    S('vendor_ifunc', 10, 1),
    S('vendor_hidden', 2, 1, 2),
    S('vendor_internal', 2, 1, 1),
    S('vendor_local', 2, 0),
    S('vendor_table', 1, 1),
    S('vendor_notype', 0, 1),
    S('free', 2, 1, 0, false),
    S('malloc', 2, 2, 0, false),
  ];
  const expected = ['SDF_OpenDevice', 'vendor_ifunc', 'vendor_protected', 'vendor_weak'];
  const targets: ElfTarget[] = [
    elfTargetFor('s390x', 'BE'),
    elfTargetFor('ppc64', 'BE'),
    elfTargetFor('ppc', 'BE'),
    elfTargetFor('mips', 'BE'),
    elfTargetFor('riscv64', 'LE'),
    elfTargetFor('arm', 'LE'),
  ];

  for (const target of targets) {
    for (const hash of ['sysv', 'gnu'] as const) {
      for (const withSections of [true, false]) {
        const label = `${target.arch} ${target.littleEndian ? 'LE' : 'BE'}, ${hash} hash, ${withSections ? 'with' : 'without'} section headers`;
        test(label, () => {
          const path = writeCopy(synthesize(target, hash, withSections, symbols));
          const facts: SharedObjectFacts = readSharedObject(path, target);
          expect(facts).toMatchObject({
            bits: target.bits,
            littleEndian: target.littleEndian,
            machine: target.machine,
            symbolSource: withSections ? 'section-headers' : 'dynamic-segment',
          });
          expect(sorted(facts.definedSymbols)).toEqual(expected);
          if (hasTool('readelf')) expect(readelfDefinedFunctions(path, !withSections)).toEqual(expected);
          if (target.littleEndian !== HOST.littleEndian && target.bits === HOST.bits) {
            expect(refusal(path).reason).toMatch(
              /^(big|little)-endian \(ELFDATA2(MSB|LSB)\) library in a (little|big)-endian process$/,
            );
          }
        });
      }
    }
  }

  test('an architecture not known here: neither class nor machine is checked', () => {
    const target = elfTargetFor('sparc64', 'BE');
    expect(target).toEqual({ arch: 'sparc64', littleEndian: false });
    const facts = readSharedObject(
      writeCopy(synthesize({ ...target, bits: 64, machine: 43 }, 'gnu', false, symbols)),
      target,
    );
    expect(facts).toMatchObject({ bits: 64, machine: 43 });
    expect(sorted(facts.definedSymbols)).toEqual(expected);
  });

  test('a garbage symbol count (DT_HASH nchain 2^32 - 1) is capped by what fits, quickly', () => {
    const target = elfTargetFor('ppc', 'BE');
    const bytes = synthesize(target, 'sysv', false, symbols);
    const hashAt = bytes.indexOf(Buffer.from([0, 0, 0, 1, 0, 0, 0, symbols.length + 1]));
    expect(hashAt).toBeGreaterThan(0);
    bytes.writeUInt32BE(0xffffffff, hashAt + 4);
    const started = performance.now();
    try {
      inspectSharedObject(bytes, 'nchain.so', target);
    } catch (error) {
      expect(error).toBeInstanceOf(ElfFormatError);
    }
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('random damage never escapes as anything but ElfFormatError', () => {
  test('300 runs of 1-8 byte overwrites and a random cut of the mock, in well under a second', () => {
    const size = mock.length;
    const position = fc.oneof(
      fc.integer({ min: 0, max: 1023 }), // the ELF header and program headers
      fc.integer({ min: size - 2048, max: size - 1 }), // the section headers
      fc.integer({ min: 0, max: size - 1 }),
    );
    let spent = 0;
    let accepted = 0;
    const path = join(work, 'fuzzed.so');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(position, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: size }), { freq: 3 }),
        fc.boolean(),
        (writes, cut, strip) => {
          const copy = Buffer.from(mock);
          if (strip) copy.writeBigUInt64LE(0n, E_SHOFF);
          for (const [at, value] of writes) copy[at] = value;
          writeFileSync(path, cut === null ? copy : copy.subarray(0, cut));
          const started = performance.now();
          try {
            readSharedObject(path);
            accepted++;
          } catch (error) {
            if (!(error instanceof ElfFormatError)) throw error;
          } finally {
            spent += performance.now() - started;
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(spent).toBeLessThan(1000);
    expect(accepted).toBeGreaterThan(0);
  });
});
