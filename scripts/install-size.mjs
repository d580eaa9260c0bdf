// What `npm install gmt0018` costs a project: builds and packs this repository, installs
// the tarball into an empty project, and prints the tarball, the package and node_modules sizes
// and the largest dependencies. Also fails when npm warns of an engine that the package's own
// `engines` does not cover (EBADENGINE), or when `require('gmt0018')` loads the service's
// framework. Run: npm run size
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result;
}

/** Bytes of the files under `path` (their lengths, not the blocks they take). */
function bytesUnder(path) {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, name) => total + bytesUnder(join(path, name)), 0);
}

/** node_modules' packages, scoped ones by their full name. */
function packagesIn(modules) {
  return readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name],
    );
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

const work = mkdtempSync(join(tmpdir(), 'gmt0018-size-'));
try {
  run('npm', ['run', 'build'], ROOT);
  const [packed] = JSON.parse(
    run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT).stdout,
  );
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed.filename)],
    app,
  );
  const modules = join(app, 'node_modules');
  const packages = packagesIn(modules).map((name) => ({ name, bytes: bytesUnder(join(modules, name)) }));
  packages.sort((a, b) => b.bytes - a.bytes);
  const total = packages.reduce((sum, { bytes }) => sum + bytes, 0);

  console.log(`node ${process.version}, npm ${run('npm', ['--version'], ROOT).stdout.trim()}`);
  console.log(
    `tarball ${packed.filename}: ${mib(statSync(join(work, packed.filename)).size)}, ${packed.files.length} files`,
  );
  console.log(`gmt0018 installed: ${mib(packages.find(({ name }) => name === 'gmt0018').bytes)}`);
  console.log(`node_modules: ${mib(total)} in ${packages.length} packages; the largest:`);
  for (const { name, bytes } of packages.slice(0, 8)) console.log(`  ${name.padEnd(32)} ${mib(bytes)}`);

  const loaded = run(
    process.execPath,
    [
      '-e',
      "require('gmt0018'); console.log(Object.keys(require.cache).filter((f) => /node_modules[\\\\/](fastify|prom-client)[\\\\/]/.test(f)).length)",
    ],
    app,
  ).stdout.trim();
  console.log(`modules of fastify and prom-client (the service's) that require('gmt0018') loads: ${loaded}`);

  const engineWarnings = `${install.stdout}\n${install.stderr}`
    .split('\n')
    .filter((line) => line.includes('EBADENGINE'));
  for (const line of engineWarnings) console.log(line);
  if (engineWarnings.length > 0 || loaded !== '0') process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
