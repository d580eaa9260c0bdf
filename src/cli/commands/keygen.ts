import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bytesToHex, generatePrivateKey, nodeIdOf, privateKeyToPem, publicKeyFromPrivateKey } from '../../sm2';
import { defineCommand, UsageError } from '../command';

const KEY_FILE_MODE = 0o600;

type KeyForm = 'pkcs8' | 'sec1' | 'hex';
const FORM_LABELS: Record<KeyForm, string> = { pkcs8: 'PKCS#8 PEM', sec1: 'SEC1 PEM', hex: 'hex' };

function encodeKey(privateKey: Uint8Array, form: KeyForm): string {
  return form === 'hex' ? `${bytesToHex(privateKey)}\n` : privateKeyToPem(privateKey, form);
}

/**
 * --force replaces a regular file in place, never through a symbolic link at the target
 * (O_NOFOLLOW) and never one with other hard links: either way the new key would also land in
 * whatever file the link leads to. It is truncated only once it is known to be such a file.
 * O_NONBLOCK: a FIFO at the target is refused instead of blocking the open.
 */
const REPLACE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function openForKey(path: string, overwrite: boolean): number {
  let fd: number;
  try {
    fd = openSync(path, overwrite ? REPLACE_FLAGS : 'wx', KEY_FILE_MODE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${path} exists; give --force to replace it`);
    if (code === 'ELOOP') throw new UsageError(`--out ${path} is a symbolic link; refusing to write through it`);
    throw new UsageError(`--out ${path}: cannot be written (${code ?? 'error'})`);
  }
  if (!overwrite) return fd;
  const stat = fstatSync(fd);
  const problem = !stat.isFile() ? 'is not a regular file' : stat.nlink > 1 ? 'has other hard links' : undefined;
  if (problem !== undefined) {
    closeSync(fd);
    throw new UsageError(`--out ${path} ${problem}; refusing to replace it`);
  }
  ftruncateSync(fd, 0);
  return fd;
}

/** Writes the key readable by its owner only, also when --force replaces a file with wider rights. */
function writeKeyFile(path: string, content: string, overwrite: boolean): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`--out ${path}: cannot create the folder ${dirname(path)} (${code})`);
  }
  const fd = openForKey(path, overwrite);
  try {
    fchmodSync(fd, KEY_FILE_MODE);
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

export const keygen = defineCommand({
  name: 'keygen',
  summary: 'write a new software SM2 key (the node.pem a FISCO node reads with enable_hsm=false)',
  options: {
    out: { type: 'string', value: 'FILE', default: 'conf/node.pem', description: 'where to write the key (mode 0600)' },
    format: {
      type: 'string',
      value: 'pem|hex',
      default: 'pem',
      description: 'PEM (PKCS#8 unless --sec1), or bare hex',
    },
    sec1: { type: 'boolean', description: 'write SEC1 PEM (BEGIN EC PRIVATE KEY) instead of PKCS#8' },
    force: { type: 'boolean', description: 'replace an existing regular file' },
  },
  async run(values, out) {
    const format = values.format;
    if (format !== 'pem' && format !== 'hex') throw new UsageError(`--format must be pem or hex, got ${format}`);
    if (values.sec1 && format !== 'pem')
      throw new UsageError('--sec1 is a PEM form: it cannot be combined with --format hex');
    if (values.out === '') throw new UsageError('--out needs a file name');
    const file = resolve(values.out);
    const form: KeyForm = format === 'hex' ? 'hex' : values.sec1 ? 'sec1' : 'pkcs8';
    const privateKey = generatePrivateKey();
    try {
      const publicKey = publicKeyFromPrivateKey(privateKey);
      writeKeyFile(file, encodeKey(privateKey, form), values.force ?? false);
      const nodeId = nodeIdOf(publicKey);
      out.result(`wrote SM2 private key to ${file} (${FORM_LABELS[form]}, mode 0600)\nnode id: ${nodeId}`, {
        file,
        format: form,
        publicKey: bytesToHex(publicKey),
        nodeId,
      });
    } finally {
      privateKey.fill(0);
    }
  },
});
