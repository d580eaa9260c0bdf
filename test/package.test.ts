// The published package as a user gets it: `npm pack`, installed into an empty folder, then used
// through require, import, its types and its bin. Needs `npm run build` (pretest does it).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hexToBytes } from '../src/sm2';
import { MOCK_LIB } from './helpers/mock-card';
import { opensslOracle } from './helpers/oracles';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'gmt0018-package-'));
const app = join(work, 'app');

// npm run test exports npm_* variables (lifecycle, package fields) that must not leak into the
// nested npm commands.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));

function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env, ...options });
  return { status: result.status, stdout: String(result.stdout).trim(), stderr: String(result.stderr).trim() };
}

function runOk(command: string, args: string[], cwd: string): string {
  const result = run(command, args, { cwd });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

let packedFiles: string[];
let installOutput: string;

beforeAll(() => {
  for (const file of ['dist/index.js', 'dist/index.mjs', 'dist/cli.js']) {
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing: run npm run build first`);
  }
  // --ignore-scripts: prepack would rebuild dist/ under the other test files running beside this one.
  const [packed] = JSON.parse(
    runOk('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT),
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  packedFiles = packed.files.map((file) => file.path);

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  // --ignore-scripts proves nothing has to be compiled or fetched at install: koffi's package
  // carries its prebuilt binaries. --prefer-offline reuses the npm cache.
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(work, packed.filename)],
    { cwd: app },
  );
  if (install.status !== 0) throw new Error(`npm install exited ${install.status}: ${install.stderr}`);
  installOutput = `${install.stdout}\n${install.stderr}`;
  for (const example of ['quick-start.cjs', 'quick-start.mjs']) {
    copyFileSync(join(ROOT, 'examples', example), join(app, example));
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('ships only the build, the README, the changelog and the licence', () => {
    const shipped = [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'native-bindings/mock-sdf/build/libgmt0018.so',
    ];
    const stray = packedFiles.filter((path) => !path.startsWith('dist/') && !shipped.includes(path));
    expect(stray).toEqual([]);
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'CHANGELOG.md',
        'README.md',
        'dist/index.js',
        'dist/index.mjs',
        'dist/cli.js',
        'dist/index.d.ts',
        'dist/sdf.js',
        'dist/sdf.mjs',
        'dist/sdf.d.ts',
        'dist/mock.js',
        'dist/pkcs11.js',
        'dist/sign-thread.js',
        'native-bindings/mock-sdf/build/libgmt0018.so',
      ]),
    );
  });

  it('signs and verifies with the software backend through require()', () => {
    const result = run(process.execPath, ['quick-start.cjs'], { cwd: app });
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^require: software node [0-9a-f]{16}… verified: true$/);
  });

  it('signs and verifies with the software backend through import', () => {
    const result = run(process.execPath, ['quick-start.mjs'], { cwd: app });
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^import: software node [0-9a-f]{16}… verified: true$/);
  });

  it('require and import resolve to the installed copy, not to this repository', () => {
    const script =
      "console.log(require.resolve('gmt0018')); import('gmt0018').then((m) => console.log(typeof m.createSigner))";
    const [cjsPath, esmExport] = runOk(process.execPath, ['-e', script], app).split('\n');
    expect(cjsPath).toBe(join(app, 'node_modules', 'gmt0018', 'dist', 'index.js'));
    expect(esmExport).toBe('function');
  });

  it('has types for both require and import that a strict TypeScript project compiles against', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'gmt0018', 'package.json'), 'utf8'));
    const root = manifest.exports['.'];
    for (const types of [root.import.types, root.require.types]) {
      expect(existsSync(join(app, 'node_modules', 'gmt0018', types))).toBe(true);
    }
    const use = [
      "const config: SecurityConfig = parseSecurityConfig('[security]\\nenable_hsm=false\\n');",
      'const signer: Promise<Signer> = createSigner(config);',
      'void signer;',
    ].join('\n');
    writeFileSync(
      join(app, 'use.mts'),
      `import { createSigner, parseSecurityConfig, type SecurityConfig, type Signer } from 'gmt0018';\n${use}\n`,
    );
    writeFileSync(
      join(app, 'use.cts'),
      "import gmt = require('gmt0018');\ntype SecurityConfig = gmt.SecurityConfig;\ntype Signer = gmt.Signer;\n" +
        `const { createSigner, parseSecurityConfig } = gmt;\n${use}\n`,
    );
    // A deliberate type error proves the check can fail.
    writeFileSync(join(app, 'wrong.mts'), "import { createSigner } from 'gmt0018';\nvoid createSigner(42);\n");
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022'];
    const typeRoots = ['--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    expect(run(process.execPath, [tsc, ...flags, ...typeRoots, 'use.mts', 'use.cts'], { cwd: app })).toMatchObject({
      status: 0,
      stdout: '',
    });
    const wrong = run(process.execPath, [tsc, ...flags, ...typeRoots, '--skipLibCheck', 'wrong.mts'], { cwd: app });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toContain('TS2345');
  });

  it('installs a working gmt0018 command', () => {
    const bin = join(app, 'node_modules', '.bin', 'gmt0018');
    const help = run(bin, ['--help'], { cwd: app });
    expect(help.status).toBe(0);
    for (const command of ['info', 'pubkey', 'nodeid', 'sign', 'verify', 'keygen'])
      expect(help.stdout).toContain(command);
    // koffi from the installed tree loads a real SDF library: the mock card of this repository.
    const info = run(bin, ['info', '--lib', MOCK_LIB, '--json'], { cwd: app });
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).functions.present).toContain('SDF_InternalSign_ECC');
  });

  it('has one copy of every class for require and import (no dual-package hazard)', () => {
    const script = [
      "import * as esm from 'gmt0018';",
      "import { ConfigError, parseSecurityConfig, SoftwareSigner } from 'gmt0018';",
      "import { createRequire } from 'node:module';",
      "const cjs = createRequire(import.meta.url)('gmt0018');",
      'const caught = (parse) => { try { parse("[security]\\nenable_hsm=TRUE\\n"); } catch (error) { return error; } };',
      'const fromCjs = caught(cjs.parseSecurityConfig);',
      'const fromEsm = caught(parseSecurityConfig);',
      'console.log(JSON.stringify({',
      '  names: Object.keys(esm).filter((name) => name !== "default").sort(),',
      '  cjsNames: Object.keys(cjs).sort(),',
      '  sameClasses: ConfigError === cjs.ConfigError && SoftwareSigner === cjs.SoftwareSigner,',
      '  cjsErrorIsEsmClass: fromCjs instanceof ConfigError,',
      '  esmErrorIsCjsClass: fromEsm instanceof cjs.ConfigError,',
      '  code: fromCjs.code,',
      '}));',
    ].join('\n');
    writeFileSync(join(app, 'one-copy.mjs'), script);
    const result = JSON.parse(runOk(process.execPath, ['one-copy.mjs'], app));
    expect(result.names).toEqual(result.cjsNames);
    expect(result.names).toEqual(expect.arrayContaining(['ConfigError', 'createSigner', 'createRemoteSigner']));
    expect(result).toMatchObject({
      sameClasses: true,
      cjsErrorIsEsmClass: true,
      esmErrorIsCjsClass: true,
      code: 'CONFIG_BAD_BOOLEAN',
    });
  });

  it('declares how it is built, where it lives, and the version its changelog releases', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'gmt0018', 'package.json'), 'utf8'));
    expect(manifest.scripts.prepack).toMatch(/npm run build/);
    expect(manifest).toMatchObject({ sideEffects: false, repository: { type: 'git' } });
    expect(typeof manifest.homepage).toBe('string');
    expect(typeof manifest.bugs.url).toBe('string');
    const changelog = readFileSync(join(app, 'node_modules', 'gmt0018', 'CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`## [${manifest.version}] - `);
    expect(changelog).toMatch(new RegExp(`^\\[${manifest.version.replace(/\./g, '\\.')}\\]: `, 'm'));
  });

  it('keeps the syntax it was written in (no transpiler helpers in place of ?., ?? and class fields)', () => {
    // sucrase (tsup's CommonJS code splitting) rewrote these into helper calls that halved the
    // speed of SM2 signing and verification.
    const bundle = readFileSync(join(app, 'node_modules', 'gmt0018', 'dist', 'entries.js'), 'utf8');
    expect(bundle).toMatch(/\?\./);
    expect(bundle).toMatch(/ \?\? /);
    for (const helper of ['_optionalChain(', '_nullishCoalesce(', '.prototype.__init']) {
      expect(bundle).not.toContain(helper);
    }
  });

  it('installs on the Node.js its engines field declares without an engine warning from any dependency', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'gmt0018', 'package.json'), 'utf8'));
    const declaredMajor = Number(/^>=(\d+)$/.exec(manifest.engines.node)?.[1]);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(declaredMajor);
    expect(installOutput).not.toContain('EBADENGINE');
  });

  it("require('gmt0018') does not load the signing service's framework", () => {
    const script = [
      'const loaded = () => Object.keys(require.cache).filter((f) => /node_modules[\\/](fastify|prom-client)[\\/]/.test(f)).length;',
      "require('gmt0018');",
      'const fromRoot = loaded();',
      "require('fastify');",
      'console.log(JSON.stringify({ fromRoot, afterFastify: loaded() }));',
    ].join('\n');
    const { fromRoot, afterFastify } = JSON.parse(runOk(process.execPath, ['-e', script], app));
    expect(fromRoot).toBe(0);
    expect(afterFastify).toBeGreaterThan(0); // the filter does see the framework once it is loaded
  });

  it('keeps the device APIs and the mock card out of the root entry, in subpaths that share its classes', () => {
    const script = [
      "const root = require('gmt0018'); const sdf = require('gmt0018/sdf');",
      "const pkcs11 = require('gmt0018/pkcs11'); const mock = require('gmt0018/mock');",
      "import('gmt0018/sdf').then((esmSdf) => console.log(JSON.stringify({",
      "  rootHas: ['openDevice', 'SdfLibrary', 'importMockKey', 'resolveSdfLibraryOptions', 'SDF_FUNCTION_NAMES', 'Pkcs11Module'].filter((n) => n in root),",
      "  sdf: ['openDevice', 'SdfLibrary', 'SdfSessionKey', 'resolveSdfLibraryOptions', 'SDF_FUNCTION_NAMES'].filter((n) => typeof sdf[n] !== 'undefined'),",
      '  pkcs11: typeof pkcs11.Pkcs11Module, mock: typeof mock.importMockKey,',
      '  sameSdfError: root.SdfError === sdf.SdfError && esmSdf.SdfError === root.SdfError,',
      '  samePkcs11Error: root.Pkcs11Error === pkcs11.Pkcs11Error,',
      '})));',
    ].join('\n');
    expect(JSON.parse(runOk(process.execPath, ['-e', script], app))).toEqual({
      rootHas: [],
      sdf: ['openDevice', 'SdfLibrary', 'SdfSessionKey', 'resolveSdfLibraryOptions', 'SDF_FUNCTION_NAMES'],
      pkcs11: 'function',
      mock: 'function',
      sameSdfError: true,
      samePkcs11Error: true,
    });
  });

  it('exports the types its API hands out, from the root and the subpaths', () => {
    writeFileSync(
      join(app, 'types.mts'),
      [
        "import { createSigner, type ConfigErrorCode, type ConfigWarning, type SecurityConfig } from 'gmt0018';",
        "const card = () => createSigner({ enableHsm: true, keyIndex: 1, hsmLibPath: '/lib/libsdf.so', password: 'p' });",
        "const file = () => createSigner({ privateKeyPath: 'conf/node.pem' });",
        "import { openDevice, type SdfSessionKey } from 'gmt0018/sdf';",
        "import { importMockKey, type MockKeyImport } from 'gmt0018/mock';",
        "const code: ConfigErrorCode = 'CONFIG_BAD_BOOLEAN';",
        'const warnings = (config: SecurityConfig): readonly ConfigWarning[] => config.warnings ?? [];',
        'const key = async (): Promise<SdfSessionKey> => (await (await (await openDevice("x")).openSession()).generateKeyWithKek(1)).key;',
        "const request: MockKeyImport = { keystore: 'k', index: 1, password: '', privateKey: new Uint8Array(32) };",
        'void [code, warnings, key, request, importMockKey, card, file];',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022'];
    const typeRoots = ['--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    expect(run(process.execPath, [tsc, ...flags, ...typeRoots, 'types.mts'], { cwd: app })).toMatchObject({
      status: 0,
      stdout: '',
    });
  });
});

/** The shell lines of one README section marked `<!-- NAME: ... -->` … `<!-- /NAME -->`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = new RegExp(`<!-- ${name}:[^>]*-->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- /${name} -->`).exec(
    readme,
  );
  if (!section) throw new Error(`README.md has no ${name} block`);
  return section[1];
}

describe("a newcomer's path to a signature through the mock card, by the README's quick start", () => {
  const bin = () => join(app, 'node_modules', '.bin', 'gmt0018');
  let quickStart: ReturnType<typeof run>;

  beforeAll(() => {
    // The README's lines as they are, in the project the tarball was installed into.
    const lines = `${readmeBlock('quick-start')}${readmeBlock('java-sdk')}`;
    quickStart = run('bash', ['-euo', 'pipefail', '-c', lines], { cwd: app });
  });

  it('runs to the end', () => {
    expect(quickStart).toMatchObject({ status: 0, stderr: '' });
  });

  it('uses the mock card the package ships', () => {
    const config = readFileSync(join(app, 'config.ini'), 'utf8');
    const shipped = join(app, 'node_modules', 'gmt0018', 'native-bindings', 'mock-sdf', 'build', 'libgmt0018.so');
    expect(config).toContain(`hsm_lib_path=${shipped}\n`);
  });

  it('signs inside the card with the key mock-import put there, through config.ini and config.toml; OpenSSL verifies both', () => {
    const lines = quickStart.stdout.split('\n');
    const imported = lines.find((line) => line.startsWith('node id: '));
    // each sign --json prints one JSON object: config.ini's, then config.toml's
    const objects = quickStart.stdout.match(/^\{$[\s\S]*?^\}$/gm) ?? [];
    expect(objects).toHaveLength(2);
    const message = readFileSync(join(app, 'message'));
    for (const object of objects) {
      const { backend, signature, publicKey } = JSON.parse(object);
      expect(backend).toBe('hsm');
      expect(imported).toBe(`node id: ${publicKey}`);
      expect(opensslOracle.verify(hexToBytes(publicKey), message, hexToBytes(signature))).toBe(true);
      expect(opensslOracle.verify(hexToBytes(publicKey), message.subarray(1), hexToBytes(signature))).toBe(false);
    }
  });

  it('signs on signing threads of the installed package (its thread script and koffi found there)', () => {
    const args = ['bench', '--config', 'config.ini', '--sign-threads', '2', '--ops', '200', '--warmup', '10', '--json'];
    // the keystore the README's quick start exported
    const keystore = { ...env, GMT0018_MOCK_KEYSTORE: join(app, 'mock-keys') };
    const result = run(bin(), args, { cwd: app, env: keystore });
    expect(result.status).toBe(0); // (stderr has the progress lines)
    expect(JSON.parse(result.stdout)).toMatchObject({ backend: 'hsm', sessions: 2, ops: 200 });
  });

  it('says what is missing when GMT0018_MOCK_KEYSTORE is not set', () => {
    const withoutKeystore = { ...env };
    delete withoutKeystore.GMT0018_MOCK_KEYSTORE;
    const result = run(bin(), ['nodeid', '--config', 'config.ini'], { cwd: app, env: withoutKeystore });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('SDR_KEYNOTEXIST');
    expect(result.stderr).toContain('GMT0018_MOCK_KEYSTORE');
    expect(result.stderr).not.toContain('Pa#ss;w0rd');
  });
});

// engines says ">= 20": the same installed package on the later LTS lines, whose Node.js binaries
// npm serves as the `node` package (npx caches them after the first run).
describe.each(['22', '24'])('the installed package on Node.js %s', (major) => {
  const withNode = (command: string) =>
    run('npx', ['--yes', '--package', `node@${major}`, '--call', command], {
      cwd: app,
      env: { ...env, GMT0018_MOCK_KEYSTORE: join(app, 'mock-keys') },
    });

  it('runs there (the check can tell versions apart)', () => {
    const version = withNode('node -p process.versions.node');
    expect(version).toMatchObject({ status: 0 });
    expect(version.stdout.split('.')[0]).toBe(major);
  });

  it('signs in software through require and import', () => {
    expect(withNode('node quick-start.cjs').stdout).toMatch(/^require: software node [0-9a-f]{16}… verified: true$/);
    expect(withNode('node quick-start.mjs').stdout).toMatch(/^import: software node [0-9a-f]{16}… verified: true$/);
  });

  it('signs through the mock card with the quick start config.ini, and OpenSSL verifies it', () => {
    const signed = withNode('node node_modules/gmt0018/dist/cli.js sign --config config.ini --file message --json');
    expect(signed.status).toBe(0);
    const { backend, signature, publicKey } = JSON.parse(signed.stdout);
    expect(backend).toBe('hsm');
    const message = readFileSync(join(app, 'message'));
    expect(opensslOracle.verify(hexToBytes(publicKey), message, hexToBytes(signature))).toBe(true);
  });
});
