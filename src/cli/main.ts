import { ConfigError } from '../config';
import { SdfBindingError, SdfError } from '../sdf';
import { Command, Output, parseCommandArgs, UsageError, VerificationFailed } from './command';
import { info } from './commands/info';
import { keygen } from './commands/keygen';
import { mockImport } from './commands/mock-import';
import { bench } from './commands/bench';
import { nodeid, pubkey, sign } from './commands/signer-commands';
import { verify } from './commands/verify';
import { serve } from './commands/serve';

const COMMANDS: Command[] = [
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

export const EXIT = { ok: 0, invalidSignature: 1, usage: 2, device: 3 } as const;

function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'usage: gmt0018 <command> [options]   (gmt0018 <command> --help for its options)',
    '',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'exit codes: 0 ok, 1 signature does not verify, 2 bad usage or configuration, 3 device or runtime error',
  ].join('\n');
}

/** Exit code and the one-line `code: message` for an error. */
function classify(error: unknown): { exit: number; code: string; message: string } {
  if (error instanceof VerificationFailed)
    return { exit: EXIT.invalidSignature, code: error.code, message: error.message };
  if (error instanceof UsageError) return { exit: EXIT.usage, code: error.code, message: error.message };
  if (error instanceof ConfigError) return { exit: EXIT.usage, code: error.code, message: error.message };
  if (error instanceof SdfError) return { exit: EXIT.device, code: error.codeName, message: error.message };
  if (error instanceof SdfBindingError) {
    const exit = error.code === 'SDF_LIBRARY_NOT_FOUND' ? EXIT.usage : EXIT.device;
    return { exit, code: error.code, message: error.message };
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return { exit: EXIT.usage, code: 'BAD_INPUT', message: error.message };
  }
  return { exit: EXIT.device, code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainUsage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`gmt0018: USAGE: unknown command "${name}"\n${mainUsage()}\n`);
    return EXIT.usage;
  }
  try {
    const values = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(`${command.summary}\n\nusage: ${command.usage}\n`);
      return EXIT.ok;
    }
    await command.run(values, new Output(values.json ?? false));
    return EXIT.ok;
  } catch (error) {
    const { exit, code, message } = classify(error);
    const oneLine = message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`gmt0018 ${command.name}: ${code}: ${oneLine}\n`);
    if (error instanceof UsageError) process.stderr.write(`usage: ${command.usage}\n`);
    return exit;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
