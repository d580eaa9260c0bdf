import { Command, Output, parseCommandArgs, UsageError } from './command';
import { info } from './commands/info';
import { keygen } from './commands/keygen';
import { mockImport } from './commands/mock-import';
import { bench } from './commands/bench';
import { nodeid, pubkey, sign } from './commands/signer-commands';
import { verify } from './commands/verify';
import { serve } from './commands/serve';
import { closest } from '../did-you-mean';
import { classify, errorJson, errorLine, EXIT } from './errors';
import { commandHelp, mainHelp, usageLine } from './help';
import { ownPackage } from '../own-package';

export { EXIT } from './errors';

export const COMMANDS: Command[] = [
  info,
  pubkey,
  nodeid,
  sign,
  verify,
  keygen,
  mockImport,
  bench,
  serve,
] as unknown as Command[];

/** An unknown command: exit 2, with the closest command's name and the list of commands. */
function unknownCommand(name: string, json: boolean): number {
  const near = closest(
    name,
    COMMANDS.map((command) => command.name),
  );
  const error = {
    exit: EXIT.usage,
    code: 'USAGE',
    message: `unknown command "${name}"${near === undefined ? '' : ` (did you mean ${near}?)`}`,
  };
  process.stderr.write(json ? `${errorJson(error)}\n` : `${errorLine(error)}\n${mainHelp(COMMANDS)}\n`);
  return EXIT.usage;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${ownPackage().version}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp(COMMANDS)}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  // Before parsing: a parse error is to be reported as JSON too.
  const json = rest.includes('--json');
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) return unknownCommand(name, json);
  try {
    const values = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    await command.run(values, new Output(values.json ?? false));
    return EXIT.ok;
  } catch (error) {
    const problem = classify(error);
    if (json) {
      process.stderr.write(`${errorJson(problem, command.name)}\n`);
    } else {
      process.stderr.write(`${errorLine(problem, command.name)}\n`);
      if (error instanceof UsageError) {
        process.stderr.write(`usage: ${usageLine(command)}   (gmt0018 ${command.name} --help lists them)\n`);
      }
    }
    return problem.exit;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
