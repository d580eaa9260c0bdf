/**
 * A SoftHSMv2 token of the test's own, in a temporary folder: SoftHSM reads SOFTHSM2_CONF with
 * C getenv() at C_Initialize, which jest's copy of process.env never reaches, so the variable is
 * set in the process's real environment.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcessSymbols } from '../../src/native/load';

export const SOFTHSM_MODULE = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
].find((path) => existsSync(path)) as string;

let setenv: ((name: string, value: string, overwrite: number) => number) | undefined;

/** Sets a variable in the C environment of this process (and in process.env). */
export function setNativeEnv(name: string, value: string): void {
  setenv ??= loadProcessSymbols().func('int setenv(const char *name, const char *value, int overwrite)') as never;
  (setenv as (name: string, value: string, overwrite: number) => number)(name, value, 1);
  process.env[name] = value;
}

export type SoftHsmKeyType = 'EC:prime256v1' | 'EC:secp256k1' | 'EC:edwards25519';

export class SoftHsmToken {
  readonly dir: string;
  readonly conf: string;

  constructor(
    readonly label = 'gmt0018-test',
    readonly pin = '1234:user#pin',
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'gmt0018-softhsm-'));
    mkdirSync(join(this.dir, 'tokens'));
    this.conf = join(this.dir, 'softhsm2.conf');
    writeFileSync(
      this.conf,
      `directories.tokendir = ${join(this.dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    this.activate();
    this.tool('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '87654321']);
  }

  /** Makes this token's folder the one SoftHSM reads at its next C_Initialize. */
  activate(): void {
    setNativeEnv('SOFTHSM2_CONF', this.conf);
  }

  /** A key pair made inside the token (pkcs11-tool, from OpenSC). */
  generate(type: SoftHsmKeyType, label: string, idHex: string): void {
    this.tool('pkcs11-tool', [
      '--module',
      SOFTHSM_MODULE,
      '--token-label',
      this.label,
      '--login',
      '--pin',
      this.pin,
      '--keypairgen',
      '--key-type',
      type,
      '--label',
      label,
      '--id',
      idHex,
    ]);
  }

  private tool(command: string, args: string[]): void {
    execFileSync(command, args, {
      env: { ...process.env, SOFTHSM2_CONF: this.conf },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
