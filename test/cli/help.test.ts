// Usage and --help come from each command's option table: every flag, its value, default and description.
import { allOptions, defineCommand, parseCommandArgs, UsageError } from '../../src/cli/command';
import { commandHelp, mainHelp, usageLine } from '../../src/cli/help';
import { COMMANDS } from '../../src/cli/main';
import { runCli } from '../helpers/cli';

const example = defineCommand({
  name: 'example',
  summary: 'an example command',
  options: {
    config: { type: 'string', value: 'FILE', required: true, description: 'the config' },
    format: { type: 'string', value: 'hex|pem', default: 'hex', description: 'the output form' },
    warmup: { type: 'string', value: 'W', defaultNote: 'min(1000, --ops)', description: 'untimed runs' },
    quiet: { type: 'boolean', short: 'q', description: 'say less' },
    level: { type: 'string', value: 'debug|info|warn|error|silent', description: 'how much to log' },
  },
  notes: ['A note after the flags.'],
  async run() {},
});

describe('help generated from an option table', () => {
  it('puts required flags in the usage line and every flag, alias, value and default in the list', () => {
    expect(usageLine(example)).toBe('gmt0018 example --config FILE [options]');
    const lines = commandHelp(example).split('\n');
    expect(lines[0]).toBe('gmt0018 example: an example command');
    expect(lines).toContain('usage: gmt0018 example --config FILE [options]');
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}--config FILE +the config \(required\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}--format hex\|pem +the output form \(default: hex\)$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {6}--warmup W +untimed runs \(default: min\(1000, --ops\)\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}-q, --quiet +say less$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}-h, --help +show this help$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}--json +print the result as one JSON document/));
    // A flag wider than the column has its description on the next line, in the column.
    const level = lines.findIndex((line) => line === '      --level debug|info|warn|error|silent');
    expect(lines[level + 1]).toMatch(/^ {34}how much to log$/);
    expect(lines[lines.length - 1]).toBe('A note after the flags.');
  });

  it('parses with the same table: defaults filled in, aliases read, required flags enforced', () => {
    expect(parseCommandArgs(example, ['--config', 'c.ini', '-q'])).toEqual({
      config: 'c.ini',
      format: 'hex',
      quiet: true,
    });
    expect(() => parseCommandArgs(example, ['--format', 'pem'])).toThrow(new UsageError('--config is required'));
    expect(() => parseCommandArgs(example, ['--config', ''])).toThrow(new UsageError('--config is required'));
    // --help needs no required flag.
    expect(parseCommandArgs(example, ['--help'])).toMatchObject({ help: true });
  });

  it('gmt0018 --help lists every command with its summary', () => {
    const help = mainHelp(COMMANDS);
    for (const command of COMMANDS) {
      expect(help).toMatch(new RegExp(`^  ${escape(command.name)} +${escape(command.summary)}$`, 'm'));
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe.each(COMMANDS.map((command) => [command.name, command] as const))('gmt0018 %s --help', (name, command) => {
  it('shows every flag of its table with its description and default, and exits 0', () => {
    const result = runCli([name, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`gmt0018 ${name}: ${command.summary}`);
    for (const [flag, spec] of Object.entries(allOptions(command))) {
      const value = spec.type === 'string' ? ` ${escape(spec.value ?? 'VALUE')}` : '';
      const line = new RegExp(`^ +(-\\w, )?--${flag}${value}\\s+${escape(spec.description)}`, 'm');
      expect(result.stdout).toMatch(line);
      if (spec.default !== undefined)
        expect(result.stdout).toMatch(
          new RegExp(`--${flag}\\b[^\\n]*(\\n +)?[^\\n]*\\(.*default: ${escape(spec.default)}`),
        );
    }
  });
});
