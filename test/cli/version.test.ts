import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli } from '../helpers/cli';

const ROOT = resolve(__dirname, '../..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

test.each([['--version'], ['-V']])('gmt0018 %s prints the version in package.json', (flag) => {
  expect(runCli([flag])).toEqual({ status: 0, stdout: version, stderr: '' });
});

test('an installed package reads its own package.json, beside dist/, when it runs', () => {
  const pkg = mkdtempSync(join(tmpdir(), 'gmt0018-installed-'));
  try {
    cpSync(dirname(CLI), join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'gmt0018', version: '9.8.7-installed' }));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const result = spawnSync(process.execPath, [join(pkg, 'dist', 'cli.js'), '--version'], { encoding: 'utf8' });
    expect(result.stdout.trim()).toBe('9.8.7-installed');
    expect(result.status).toBe(0);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});
