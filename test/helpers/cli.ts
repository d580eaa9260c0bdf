import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The built command (tests that spawn it need `npm run build` first; `npm test` does that). */
export const CLI = resolve(__dirname, '../../dist/cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gmt0018 args…` as a user would, with the mock card's keystore in its environment. */
export function runCli(
  args: string[],
  opts: { input?: string | Buffer; cwd?: string; keystore?: string } = {},
): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    cwd: opts.cwd,
    encoding: 'utf8',
    env: opts.keystore ? { ...process.env, GMT0018_MOCK_KEYSTORE: opts.keystore } : process.env,
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}
