import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../src/cli/commands/serve';
import { generatePrivateKey } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { slowClient } from '../helpers/slow-client';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const TOKEN = 'cli-serve-token-88aa';
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
const tokenFile = join(node.dir, 'serve.token');
writeFileSync(tokenFile, `${TOKEN}\n`);

afterAll(() => rmSync(node.dir, { recursive: true, force: true }));

/** `gmt0018 serve` on a free loopback port, with its output collected. */
async function startCliServe(extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', node.configPath, '--listen', '127.0.0.1:0', '--token-file', tokenFile, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      output.stderr += chunk;
      const match = /listening on (\S+)/.exec(output.stderr);
      if (match) resolve(match[1]!);
    });
    child.on('exit', () => reject(new Error(`serve exited: ${output.stderr}`)));
  });
  return { child, url, output, exited };
}

test('gmt0018 serve listens, answers with the token from --token-file, and drains on SIGTERM', async () => {
  const { child, url, output, exited } = await startCliServe();
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
  expect(output.stderr).toContain('SIGTERM, draining');
  expect(output.stdout).toContain('"statusCode":200');
  expect(output.stdout + output.stderr).not.toContain(TOKEN);
});

/** Resolves once `pattern` turns up in `output.stderr`; polls every 20 ms for at most 10 s. */
async function stderrShows(output: { stderr: string }, pattern: RegExp): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (pattern.test(output.stderr)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** POST /v1/sign of one digest; → the request id the service answered with. */
async function signDigest(url: string, digest: string): Promise<string> {
  const response = await fetch(`${url}/v1/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ digest }),
  });
  expect(response.status).toBe(200);
  return response.headers.get('x-request-id') as string;
}

test('gmt0018 serve --audit-log: after a rename and SIGHUP, the next line goes to a new file at the path', async () => {
  const auditPath = join(node.dir, 'audit.log');
  const rotated = `${auditPath}.1`;
  const { child, url, output, exited } = await startCliServe(['--audit-log', auditPath]);
  let first: string;
  let second: string;
  try {
    first = await signDigest(url, 'aa'.repeat(32));
    renameSync(auditPath, rotated);
    child.kill('SIGHUP');
    expect(await stderrShows(output, /SIGHUP, audit log reopened/)).toBe(true);
    second = await signDigest(url, 'bb'.repeat(32));
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  const lines = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  expect(lines(rotated)).toEqual([
    expect.objectContaining({ requestId: first, digest: 'aa'.repeat(32), result: 'ok' }),
  ]);
  expect(lines(auditPath)).toEqual([
    expect.objectContaining({ requestId: second, digest: 'bb'.repeat(32), result: 'ok' }),
  ]);
  expect(readFileSync(auditPath, 'utf8') + readFileSync(rotated, 'utf8')).not.toContain(TOKEN);
});

test('gmt0018 serve drains on a SIGTERM sent the moment it says it is listening', async () => {
  // Three times: a signal that came before the handler would kill it outright, with no drain.
  for (let i = 0; i < 3; i++) {
    const { child, output, exited } = await startCliServe();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.stderr).toContain('SIGTERM, draining');
  }
});

/** Scheduling policy of each thread of `pid`: field 41 of /proc/PID/task/TID/stat. */
function threadPolicies(pid: number): Map<number, number> {
  const policies = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces, start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    policies.set(Number(tid), Number(fields[41 - 3]));
  }
  return policies;
}

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
test('gmt0018 serve runs every thread but its event loop as SCHED_BATCH (Linux)', async () => {
  const { child, exited, output } = await startCliServe();
  try {
    if (process.platform !== 'linux') {
      expect(output.stdout).toMatch(/"helperThreads":\{"skipped":/);
      return;
    }
    const policies = threadPolicies(child.pid!);
    expect(policies.get(child.pid!)).toBe(SCHED_OTHER);
    const others = [...policies].filter(([tid]) => tid !== child.pid).map(([, policy]) => policy);
    // libuv's pool (4 threads by default), the signing worker and V8's helpers.
    expect(others.length).toBeGreaterThanOrEqual(5);
    expect(others.every((policy) => policy === SCHED_BATCH)).toBe(true);
    expect(output.stdout).toMatch(/"helperThreads":\{"marked":\d+,"failed":0\}/);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

test.each([
  [['--listen', '0.0.0.0:0', '--token-file', tokenFile], /without TLS/],
  [['--listen', '127.0.0.1:0'], /no token configured/],
  [['--listen', 'nonsense'], /not HOST:PORT/],
  [['--token-file', tokenFile, '--metrics-listen', '9090'], /--metrics-listen "9090" is not HOST:PORT/],
  [['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--threads', '0'], /--threads must be a positive integer/],
  [['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--threads', '999'], /--threads must be at most 256/],
  [['--token-file', tokenFile, '--max-connections', '0'], /--max-connections must be a positive integer/],
  [['--token-file', tokenFile, '--headers-timeout-ms', '20000'], /--headers-timeout-ms \(20000\) must not exceed/],
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

test.each(['   ', '\t\n', ' \n '])(
  'GMT0018_SERVE_TOKEN=%j (blank) is no token: refused like an empty token file',
  (blank) => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--config', node.configPath, '--listen', '127.0.0.1:0'], {
      encoding: 'utf8',
      env: { ...process.env, GMT0018_SERVE_TOKEN: blank },
      // Unfixed, the service would start and run: the timeout ends the test instead of hanging it.
      timeout: 15_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(/^gmt0018 serve: USAGE: .*no token configured/);
  },
);

test('gmt0018 serve --help names every flag the command takes', () => {
  const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  const flags = Object.keys(serve.options);
  expect(flags.length).toBeGreaterThanOrEqual(20);
  for (const flag of flags) expect(help.stdout).toMatch(new RegExp(`--${flag}[ \\]]`));
});

test('gmt0018 serve passes --metrics-listen and the timeout flags on', async () => {
  const { child, url, output, exited } = await startCliServe([
    '--metrics-listen',
    '127.0.0.1:0',
    '--request-timeout-ms',
    '1000',
    '--headers-timeout-ms',
    '1000',
  ]);
  try {
    expect(await stderrShows(output, /metrics on (\S+)/)).toBe(true);
    const metricsUrl = /metrics on (\S+)/.exec(output.stderr)![1]!;
    expect((await fetch(metricsUrl)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    const silent = slowClient(url, { deadlineMs: 20_000 });
    expect((await silent.closed).closedBy).toBe('server');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

test('gmt0018 serve --verbose says which backend it serves before it listens, and no token', async () => {
  const { child, output, exited } = await startCliServe(['--verbose']);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const lines = output.stderr.split('\n');
  expect(lines[0]).toBe(`backend: software (${join(node.dir, 'conf', 'node.pem')})`);
  expect(lines[1]).toMatch(/listening on/);
  expect(output.stderr).not.toContain(TOKEN);
});
