import { readFileSync } from 'node:fs';
import type { EcdsaHash } from '../signer/algorithms';
import { hexToBytes } from '../sm2';
import { UsageError } from './command';
import type { OptionTable } from './options';

/** The flags of commands that take data to sign or verify. */
export const DATA_OPTIONS = {
  hex: { type: 'string', value: 'HEX', description: 'the data, as hex' },
  file: { type: 'string', value: 'FILE', description: "the data, from a file ('-': standard input)" },
} as const satisfies OptionTable;

export const DATA_NOTE = 'The data comes from --hex, --file, or else standard input (give one of them).';

export function parseHexArgument(text: string, flag: string): Uint8Array {
  try {
    return hexToBytes(text.trim().replace(/^0x/i, ''));
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function readStdin(): Uint8Array {
  if (process.stdin.isTTY) throw new UsageError('no data: give --hex, --file or pipe the data on stdin');
  return readFileSync(0);
}

/** The file a flag names; a usage error naming the flag, the path and why when it cannot be read. */
export function readFlagFile(path: string | 0, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const what = path === 0 ? `${flag}: standard input` : `${flag} ${path}`;
    throw new UsageError(`${what}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A secret kept in a file a flag names (token, PIN), trimmed; never echoed in an error. */
export function readSecretFlagFile(path: string, flag: string): string {
  const content = readFlagFile(path, flag);
  try {
    return content.toString('utf8').trim();
  } finally {
    content.fill(0);
  }
}

/** A flag's value as a positive safe integer, or a usage error naming the flag. */
export function positiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a positive integer, got ${value}`);
  }
  return Number(value);
}

/** --hash: the ECDSA hash of the data, when given. */
export function parseHashFlag(value: string | undefined): EcdsaHash | undefined {
  if (value !== undefined && value !== 'sha256' && value !== 'keccak256') {
    throw new UsageError(`--hash must be sha256 or keccak256, got ${value}`);
  }
  return value;
}

/** --digest: the data is a ready 32-byte SM3 digest. */
export function checkDigestLength(data: Uint8Array, digest: boolean | undefined): void {
  if (digest && data.length !== 32) throw new UsageError(`--digest takes 32 bytes (SM3), got ${data.length}`);
}

/** `--file -`: standard input, read whole, also from a terminal since it was asked for by name. */
const STDIN_FILE = '-';

/**
 * The bytes to sign or verify, from --hex, --file (`-`: standard input) or, with neither,
 * standard input when it is not a terminal.
 */
export function readData(values: { hex?: string; file?: string }): Uint8Array {
  if (values.hex !== undefined && values.file !== undefined) throw new UsageError('give --hex or --file, not both');
  if (values.hex !== undefined) return parseHexArgument(values.hex, '--hex');
  if (values.file === STDIN_FILE) return readFlagFile(0, '--file');
  if (values.file !== undefined) return readFlagFile(values.file, '--file');
  return readStdin();
}
