import { parseArgs } from 'node:util';
import { closest } from '../did-you-mean';
import { missingRequired, parseArgsOptions, type OptionTable, type ParsedValues } from './options';

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

/** Flags every command takes. */
export const COMMON_OPTIONS = {
  json: {
    type: 'boolean',
    description: 'print the result as one JSON document; warnings and errors go to stderr as JSON lines',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionTable;

/** The flags of commands that make a signer from a node's config.ini. */
export const SIGNER_OPTIONS = {
  config: {
    type: 'string',
    value: 'FILE',
    required: true,
    description:
      "the node's config.ini ([security] chooses the card, PKCS#11 key or key file) or a java-sdk config.toml",
  },
  verbose: {
    type: 'boolean',
    short: 'v',
    description: 'say on stderr which backend the config chose (no secrets)',
  },
} as const satisfies OptionTable;

type CommonValues = ParsedValues<typeof COMMON_OPTIONS>;

export interface Command<O extends OptionTable = OptionTable> {
  name: string;
  /** One line, for `gmt0018 --help`. */
  summary: string;
  /** The flags, from which parsing and help both come. */
  options: O;
  /** Lines help adds after the flags: other forms, how flags go together. */
  notes?: readonly string[];
  run(values: ParsedValues<O> & CommonValues, out: Output): Promise<void>;
}

/** Plain text for people, or JSON documents with --json. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
    private readonly writeError: (text: string) => void = (text) => process.stderr.write(text),
  ) {}

  /** Prints `text` in plain mode and `data` in JSON mode, on stdout. */
  result(text: string, data: unknown): void {
    this.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`);
  }

  /** A line on stderr beside the result: `text`, or `data` as one line of JSON with --json. */
  notice(text: string, data: unknown): void {
    this.writeError(this.json ? `${JSON.stringify(data)}\n` : `${text}\n`);
  }
}

/** The flags a command takes, its own and the common ones. */
export function allOptions(command: Command): OptionTable {
  return { ...command.options, ...COMMON_OPTIONS };
}

/** `Unknown option '--confg'` from parseArgs, with the closest flag the command has. */
function unknownOption(message: string, flags: OptionTable): string | undefined {
  const match = /^Unknown option '(-{1,2})([^']*)'/.exec(message);
  if (match === null) return undefined;
  const [, dashes, name] = match;
  const long = dashes === '--' ? closest(name!, Object.keys(flags)) : undefined;
  return `unknown option ${dashes}${name}${long === undefined ? '' : ` (did you mean --${long}?)`}`;
}

/**
 * parseArgs quotes a stray argument; it may be the second half of a password given without
 * quotes (`--password two words`), so only its position is told.
 */
function strayArgument(message: string, argv: readonly string[], command: string): string | undefined {
  const match = /^Unexpected argument '(.*)'\. This command does not take positional arguments/s.exec(message);
  if (match === null) return undefined;
  const position = argv.indexOf(match[1]!) + 1;
  return (
    `argument ${position} after ${command} is not an option nor the value of one (not shown: it may be part of a secret); ` +
    'quote values that contain spaces'
  );
}

export function parseCommandArgs<O extends OptionTable>(
  command: Command<O>,
  argv: string[],
): ParsedValues<O> & CommonValues {
  const flags = allOptions(command as unknown as Command);
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: parseArgsOptions(flags), strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message;
    const first = message.split('\n')[0]!;
    throw new UsageError(strayArgument(message, argv, command.name) ?? unknownOption(first, flags) ?? first);
  }
  if (values.help !== true) {
    const missing = missingRequired(command.options, values);
    if (missing.length > 0) throw new UsageError(`--${missing[0]} is required`);
  }
  return values as ParsedValues<O> & CommonValues;
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

export function defineCommand<const O extends OptionTable>(command: Command<O>): Command<O> {
  return command;
}
