import { readFileSync } from 'node:fs';
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
