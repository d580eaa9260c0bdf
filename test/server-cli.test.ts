import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey } from '../src/sm2';
import { writeNodeFolder } from './helpers/node-config';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const TOKEN = 'cli-serve-token-88aa';
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
const tokenFile = join(node.dir, 'serve.token');
writeFileSync(tokenFile, `${TOKEN}\n`);

afterAll(() => rmSync(node.dir, { recursive: true, force: true }));

test('gmt0018 serve listens, answers with the token from --token-file, and drains on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', node.configPath, '--listen', '127.0.0.1:0', '--token-file', tokenFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  try {
    const signed = await fetch(`${url}/v1/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '00ff' }),
    });
    expect(signed.status).toBe(200);
    expect((await fetch(`${url}/v1/keys`)).status).toBe(401);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stderr).toContain('SIGTERM, draining');
  expect(stdout).toContain('"statusCode":200');
  expect(stdout + stderr).not.toContain(TOKEN);
});

test.each([
  [['--listen', '0.0.0.0:0', '--token-file', tokenFile], /without TLS/],
  [['--listen', '127.0.0.1:0'], /no token configured/],
  [['--listen', 'nonsense'], /not HOST:PORT/],
  [['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--threads', '0'], /--threads must be a positive integer/],
  [['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--threads', '999'], /--threads must be at most 256/],
])('gmt0018 serve %j refuses to start with a one-line reason', (args, reason) => {
  const env = { ...process.env };
  delete env.GMT0018_SERVE_TOKEN;
  const result = spawnSync(process.execPath, [CLI, 'serve', '--config', node.configPath, ...args], {
    encoding: 'utf8',
    env,
  });
  expect(result.status).toBe(2);
  const [first] = result.stderr.split('\n');
  expect(first).toMatch(reason);
  expect(first).toMatch(/^gmt0018 serve: USAGE: /);
});
