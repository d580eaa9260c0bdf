import type { ParseArgsConfig } from 'node:util';

/**
 * One flag of a command, declared once: node:util parseArgs reads its type, short alias and
 * default from here, and `--help` prints its value name, description and default from here.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias, e.g. `h` for `-h`. */
  short?: string;
  /** What the value is, in help: `FILE`, `hex|pem`. Strings only; default `VALUE`. */
  value?: string;
  /** A default parseArgs fills in (strings only), and help shows. */
  default?: string;
  /** A default the command works out itself (help text only), e.g. `min(1000, --ops)`. */
  defaultNote?: string;
  /** One line for help. */
  description: string;
  /** A usage error (`--config is required`) when the flag is absent or empty. */
  required?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : string;
type Certain<S extends OptionSpec> = S extends { default: string } | { required: true } ? true : false;

/** The values of a parsed table: flags with a default or marked required are always there. */
export type ParsedValues<T extends OptionTable> = {
  [K in keyof T as Certain<T[K]> extends true ? K : never]: ValueOf<T[K]>;
} & {
  [K in keyof T as Certain<T[K]> extends true ? never : K]?: ValueOf<T[K]>;
};

/** The `options` argument of node:util parseArgs for a table. */
export function parseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.default === undefined ? {} : { default: spec.default }),
    };
  }
  return options;
}

/** Flags marked required that are absent or empty, in table order. */
export function missingRequired(table: OptionTable, values: Record<string, unknown>): string[] {
  return Object.entries(table)
    .filter(([name, spec]) => spec.required === true && (values[name] === undefined || values[name] === ''))
    .map(([name]) => name);
}
