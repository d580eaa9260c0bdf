/** Help text, generated from the commands' option tables. */
import { allOptions, type Command } from './command';
import type { OptionSpec } from './options';

export const EXIT_CODES_LINE =
  'exit codes: 0 ok, 1 signature does not verify, 2 bad usage or configuration, 3 device or runtime error';

const FLAG_COLUMN = 30;

function flagWithValue(name: string, spec: OptionSpec): string {
  return spec.type === 'string' ? `--${name} ${spec.value ?? 'VALUE'}` : `--${name}`;
}

/** `gmt0018 sign --config FILE [options]`: the required flags, then the rest in one word. */
export function usageLine(command: Command): string {
  const required = Object.entries(command.options)
    .filter(([, spec]) => spec.required === true)
    .map(([name, spec]) => flagWithValue(name, spec));
  return ['gmt0018', command.name, ...required, '[options]'].join(' ');
}

function flagLine(name: string, spec: OptionSpec, width: number): string {
  const left = `${spec.short === undefined ? '    ' : `-${spec.short}, `}${flagWithValue(name, spec)}`;
  const extras = [
    spec.required === true ? 'required' : undefined,
    spec.default !== undefined ? `default: ${spec.default}` : undefined,
    spec.defaultNote !== undefined ? `default: ${spec.defaultNote}` : undefined,
  ].filter((extra) => extra !== undefined);
  const right = `${spec.description}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
  // A flag wider than the column (a long list of values) has its description on the next line.
  if (left.length > width) return `  ${left}\n  ${' '.repeat(width)}  ${right}`;
  return `  ${left.padEnd(width)}  ${right}`;
}

/** `gmt0018 <command> --help`: summary, usage line, every flag with its default, and the notes. */
export function commandHelp(command: Command): string {
  const flags = Object.entries(allOptions(command));
  // Every flag column starts after room for a `-h, ` alias; at most FLAG_COLUMN wide.
  const width = Math.min(FLAG_COLUMN, Math.max(...flags.map(([name, spec]) => 4 + flagWithValue(name, spec).length)));
  return [
    `gmt0018 ${command.name}: ${command.summary}`,
    '',
    `usage: ${usageLine(command)}`,
    '',
    'options:',
    ...flags.map(([name, spec]) => flagLine(name, spec, width)),
    ...(command.notes === undefined ? [] : ['', ...command.notes]),
  ].join('\n');
}

/** `gmt0018 --help`: the commands with their one-line summaries. */
export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'usage: gmt0018 <command> [options]   (gmt0018 <command> --help for its options)',
    '       gmt0018 --version',
    '',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    EXIT_CODES_LINE,
  ].join('\n');
}
