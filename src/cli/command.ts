import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line usage: exit code 2, with the command's usage on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

/** A verification that ran and said no: exit code 1. */
export class VerificationFailed extends Error {
  override readonly name = 'VerificationFailed';
  readonly code = 'INVALID_SIGNATURE';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command<O extends Options = Options> {
  name: string;
  summary: string;
  usage: string;
  options: O;
  run(values: ParsedValues<O>, out: Output): Promise<void>;
}

export type ParsedValues<O extends Options> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

/** Plain text for people, or one JSON document with --json. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  /** Prints `text` in plain mode and `data` in JSON mode. */
  result(text: string, data: unknown): void {
    this.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`);
  }
}

export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export function parseCommandArgs<O extends Options>(
  command: Command<O>,
  argv: string[],
): ParsedValues<O> & {
  json?: boolean;
  help?: boolean;
} {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...command.options, ...COMMON_OPTIONS },
      strict: true,
      allowPositionals: false,
    });
    return values as ParsedValues<O> & { json?: boolean; help?: boolean };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

/**
 * The entry of `table` that an option value names, or undefined. Own keys only: `in` or a plain
 * index would also find `constructor`, `toString` or `__proto__` on Object.prototype.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

export function defineCommand<O extends Options>(command: Command<O>): Command<O> {
  return command;
}
