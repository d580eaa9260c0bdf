#!/usr/bin/env node
// Builds the mock GM/T 0018 cipher card (native-bindings/mock-sdf) and the mock PKCS#11 module
// (native-bindings/mock-pkcs11) with the system C compiler against OpenSSL 3 libcrypto. No
// dependencies beyond Node.
//
//   node scripts/build-mock.mjs [--variant NAME]... [--all] [--pkcs11] [--force] [--selftest]
//
//   (no option)       standard variant to native-bindings/mock-sdf/build/libgmt0018.so
//   --variant NAME    standard | bits256 | algid | strict (repeatable); standard goes to
//                     build/libgmt0018.so, the others to build/NAME/libgmt0018.so (strict: -DMOCK_STRICT,
//                     as strict as the strictest real library; see include/sdf.h)
//   --all             every variant, and standard also to build/standard/libgmt0018.so; and the
//                     PKCS#11 module
//   --pkcs11          the mock PKCS#11 module: native-bindings/mock-pkcs11/build/libmockp11.so and
//                     its build/selftest (alone, unless variants are named too)
//   --force           rebuild even when the outputs are newer than the sources
//   --selftest        then run the self-test of each selected variant (build/selftest,
//                     build/NAME/selftest) and of the PKCS#11 module
//
// With the standard variant it also builds build/sdf-loop (native signing baseline) and
// build/selftest. Exit 0 on success, 1 on a missing toolchain piece, a compile error or a failed
// self-test, 2 on bad usage.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SCRIPT), '..');
const MOCK = join(ROOT, 'native-bindings', 'mock-sdf');
const SRC = join(MOCK, 'src');
const INCLUDE = join(MOCK, 'include');
const TOOLS = join(MOCK, 'tools');
const BUILD = join(MOCK, 'build');
const LIB = 'libgmt0018.so';
const CC = process.env.CC || 'cc';

const VARIANTS = {
  standard: [],
  bits256: ['-DECCref_MAX_BITS=256'],
  algid: ['-DMOCK_SIGN_WITH_ALGID'],
  strict: ['-DMOCK_STRICT'],
};
const P11 = join(ROOT, 'native-bindings', 'mock-pkcs11');
const P11_SRC = join(P11, 'src');
const P11_INCLUDE = join(P11, 'include');
const P11_TOOLS = join(P11, 'tools');
const P11_BUILD = join(P11, 'build');
const P11_LIB = 'libmockp11.so';
const CFLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror'];
const LIB_FLAGS = [...CFLAGS, '-fPIC', '-shared', '-fvisibility=hidden', `-Wl,-soname,${LIB}`];
const LIBS = ['-lcrypto', '-lpthread'];

const USAGE = `usage: node scripts/build-mock.mjs [--variant ${Object.keys(VARIANTS).join('|')}]... [--all] [--pkcs11] [--force] [--selftest]`;

function fail(message, code = 1) {
  process.stderr.write(`build-mock: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const options = { variants: new Set(), all: false, pkcs11: false, force: false, selftest: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--all') options.all = true;
    else if (arg === '--pkcs11') options.pkcs11 = true;
    else if (arg === '--force') options.force = true;
    else if (arg === '--selftest') options.selftest = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--variant' || arg.startsWith('--variant=')) {
      const name = arg === '--variant' ? argv[++i] : arg.slice('--variant='.length);
      if (!name || !Object.hasOwn(VARIANTS, name)) fail(`unknown variant "${name ?? ''}"\n${USAGE}`, 2);
      options.variants.add(name);
    } else fail(`unknown argument "${arg}"\n${USAGE}`, 2);
  }
  if (options.all) for (const name of Object.keys(VARIANTS)) options.variants.add(name);
  if (options.all) options.pkcs11 = true;
  if (options.variants.size === 0 && !options.pkcs11) options.variants.add('standard');
  return options;
}

const rel = (p) => relative(ROOT, p) || '.';
const mtime = (p) => statSync(p).mtimeMs;

function files(dir, suffixes) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => suffixes.some((s) => name.endsWith(s)))
    .sort()
    .map((name) => join(dir, name));
}

function isFresh(output, inputs) {
  if (!existsSync(output)) return false;
  const built = mtime(output);
  return inputs.every((input) => mtime(input) < built);
}

function run(args, input) {
  return spawnSync(CC, args, { cwd: ROOT, input, encoding: 'utf8' });
}

let toolchainChecked = false;
function checkToolchain() {
  if (toolchainChecked) return;
  toolchainChecked = true;
  const version = run(['--version']);
  if (version.error) {
    fail(
      version.error.code === 'ENOENT'
        ? `no C compiler: \`${CC}\` not found. Install gcc: apt-get install build-essential`
        : `cannot run the C compiler \`${CC}\`: ${version.error.message}`,
    );
  }
  const preprocess = (source) => run(['-E', '-x', 'c', '-', '-o', '/dev/null'], source).status === 0;
  const missingHeaders = 'no OpenSSL 3 headers: openssl/evp.h not found. Install them: apt-get install libssl-dev';
  const version3 =
    '#include <openssl/opensslv.h>\n#if !defined(OPENSSL_VERSION_MAJOR) || OPENSSL_VERSION_MAJOR < 3\n#error old\n#endif\n';
  if (!preprocess(version3)) {
    if (!preprocess('#include <openssl/opensslv.h>\n')) fail(missingHeaders);
    const text = run(['-E', '-P', '-x', 'c', '-'], '#include <openssl/opensslv.h>\nOPENSSL_VERSION_TEXT\n');
    const found = (text.stdout || '').trim().split('\n').pop() || 'unknown';
    fail(
      `OpenSSL 3 or newer is required, the headers found are ${found}. Install OpenSSL 3: apt-get install libssl-dev (Debian 12 or newer)`,
    );
  }
  if (!preprocess('#include <openssl/evp.h>\n')) fail(missingHeaders);
  const dir = mkdtempSync(join(tmpdir(), 'build-mock-'));
  const link = run(
    ['-x', 'c', '-', '-o', join(dir, 'probe'), '-lcrypto'],
    '#include <openssl/crypto.h>\nint main(void) { return OPENSSL_version_major() >= 3 ? 0 : 1; }\n',
  );
  rmSync(dir, { recursive: true, force: true });
  if (link.status !== 0) fail('cannot link against libcrypto (-lcrypto). Install it: apt-get install libssl-dev');
}

// Compiles to a temporary file next to the output, then renames it into place, so a
// concurrent loader never sees a half-written library.
function compile(output, args) {
  checkToolchain();
  mkdirSync(dirname(output), { recursive: true });
  const tmp = `${output}.tmp-${process.pid}`;
  const result = run([...args, '-o', tmp]);
  if (result.status !== 0) {
    rmSync(tmp, { force: true });
    process.stderr.write(result.stderr || result.error?.message || '');
    fail(`compiling ${rel(output)} failed`);
  }
  renameSync(tmp, output);
}

function install(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

const options = parseArgs(process.argv.slice(2));
const libSources = files(SRC, ['.c']);
if (libSources.length === 0) fail(`no C sources in ${rel(SRC)}`);
const libInputs = [...libSources, ...files(SRC, ['.h']), ...files(INCLUDE, ['.h']), SCRIPT];
const selftests = [];

for (const variant of Object.keys(VARIANTS)) {
  if (!options.variants.has(variant)) continue;
  const defines = VARIANTS[variant];
  const dir = variant === 'standard' ? BUILD : join(BUILD, variant);
  const outputs = [join(dir, LIB)];
  if (variant === 'standard' && options.all) outputs.push(join(BUILD, 'standard', LIB));

  const [primary, ...copies] = outputs;
  if (!options.force && isFresh(primary, libInputs)) {
    process.stdout.write(`mock up to date: ${variant} ${rel(primary)}\n`);
  } else {
    compile(primary, [...LIB_FLAGS, ...defines, `-I${INCLUDE}`, ...libSources, ...LIBS]);
    process.stdout.write(`built ${variant}: ${rel(primary)}\n`);
  }
  for (const copy of copies) {
    if (!options.force && isFresh(copy, [primary])) {
      process.stdout.write(`mock up to date: ${variant} ${rel(copy)}\n`);
    } else {
      install(primary, copy);
      process.stdout.write(`built ${variant}: ${rel(copy)}\n`);
    }
  }

  // Tools link the library of their folder and find it next to themselves ($ORIGIN). The
  // selftest also compiles in the internal sources it checks directly (the library hides them).
  const tools = [['selftest', [...defines, '-lcrypto'], [join(SRC, 'sm2base.c')]]];
  if (variant === 'standard') tools.push(['sdf-loop', [], []]);
  for (const [name, extra, internal] of tools) {
    const source = join(TOOLS, `${name}.c`);
    if (!existsSync(source)) continue;
    const output = join(dir, name);
    const inputs = [source, ...internal, ...files(SRC, ['.h']), ...files(INCLUDE, ['.h']), primary, SCRIPT];
    const flags = extra.filter((f) => f.startsWith('-D'));
    const libs = extra.filter((f) => !f.startsWith('-D'));
    if (!options.force && isFresh(output, inputs)) {
      process.stdout.write(`mock up to date: ${variant} ${rel(output)}\n`);
    } else {
      compile(output, [
        ...CFLAGS,
        ...flags,
        `-I${INCLUDE}`,
        ...(internal.length > 0 ? [`-I${SRC}`] : []),
        source,
        ...internal,
        `-L${dir}`,
        `-l:${LIB}`,
        '-Wl,-rpath,$ORIGIN',
        ...libs,
        '-lpthread',
      ]);
      process.stdout.write(`built ${variant} ${name}: ${rel(output)}\n`);
    }
    if (name === 'selftest') selftests.push([variant, output]);
  }
}

// The mock PKCS#11 module: one library, and a self-test that loads it with dlopen from its own
// folder (so it links only libcrypto).
if (options.pkcs11) {
  const p11Sources = files(P11_SRC, ['.c']);
  if (p11Sources.length === 0) fail(`no C sources in ${rel(P11_SRC)}`);
  const p11Headers = [...files(P11_SRC, ['.h']), ...files(P11_INCLUDE, ['.h'])];
  const lib = join(P11_BUILD, P11_LIB);
  if (!options.force && isFresh(lib, [...p11Sources, ...p11Headers, SCRIPT])) {
    process.stdout.write(`mock up to date: pkcs11 ${rel(lib)}\n`);
  } else {
    compile(lib, [
      ...CFLAGS,
      '-fPIC',
      '-shared',
      '-fvisibility=hidden',
      `-Wl,-soname,${P11_LIB}`,
      `-I${P11_INCLUDE}`,
      ...p11Sources,
      ...LIBS,
    ]);
    process.stdout.write(`built pkcs11: ${rel(lib)}\n`);
  }
  const source = join(P11_TOOLS, 'selftest.c');
  if (existsSync(source)) {
    const output = join(P11_BUILD, 'selftest');
    if (!options.force && isFresh(output, [source, ...files(P11_INCLUDE, ['.h']), lib, SCRIPT])) {
      process.stdout.write(`mock up to date: pkcs11 ${rel(output)}\n`);
    } else {
      compile(output, [...CFLAGS, `-I${P11_INCLUDE}`, source, '-lcrypto', '-lpthread', '-ldl']);
      process.stdout.write(`built pkcs11 selftest: ${rel(output)}\n`);
    }
    selftests.push(['pkcs11', output]);
  }
}

if (options.selftest) {
  let failed = 0;
  for (const [variant, binary] of selftests) {
    process.stdout.write(`selftest ${variant}: ${rel(binary)}\n`);
    const result = spawnSync(binary, [], { stdio: 'inherit' });
    if (result.status !== 0) {
      failed++;
      process.stderr.write(
        `build-mock: selftest ${variant} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})\n`,
      );
    }
  }
  if (failed > 0) process.exit(1);
}
