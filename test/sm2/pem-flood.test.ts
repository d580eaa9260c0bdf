// Hostile PEM input: floods of BEGIN lines without an END used to take the parser tens of
// seconds (a lazy regular expression rescanned the rest of the text for every BEGIN).
import {
  generatePrivateKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  publicKeyToPem,
} from '../../src/sm2';
import { readPemBlocks } from '../../src/sm2/pem';

const MiB = 1024 * 1024;

/** `line` repeated to at least 1 MiB. */
function flood(line: string): string {
  return line.repeat(Math.ceil(MiB / line.length));
}

/** Runs `parse` and returns what it threw and how long it took. */
function timedFailure(parse: () => unknown): { error: unknown; ms: number } {
  const start = performance.now();
  try {
    parse();
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error('expected the parse to fail');
}

const floods: [string, string][] = [
  ['BEGIN lines (LF)', flood('-----BEGIN PUBLIC KEY-----\n')],
  ['BEGIN lines (CRLF)', flood('-----BEGIN PUBLIC KEY-----\r\n')],
  ['BEGIN lines of a private key', flood('-----BEGIN PRIVATE KEY-----\n')],
  ['BEGIN markers without a label', flood('-----BEGIN ')],
  ['a BEGIN then END markers without a label', `-----BEGIN PUBLIC KEY-----\n${flood('-----END ')}`],
  ['a BEGIN then lower-case END lines', `-----BEGIN PUBLIC KEY-----\n${flood('-----END public key-----\n')}`],
];

describe('PEM floods fail fast (linear parsing)', () => {
  test.each(floods)('1 MiB of %s: the parse error, well under a second', (_name, text) => {
    expect(text.length).toBeGreaterThanOrEqual(MiB);
    for (const parse of [
      () => parsePublicKey(text),
      () => parsePrivateKey(text),
      () => parsePublicKey(Buffer.from(text, 'latin1')),
      () => parsePrivateKey(Buffer.from(text, 'latin1')),
    ]) {
      const { error, ms } = timedFailure(parse);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/no END line|not a valid SM2/);
      // Before the fix: 22.7 s (parsePublicKey) and 18.7 s (parsePrivateKey) for 844 KiB.
      expect(ms).toBeLessThan(1000);
    }
  });

  test('a real key after 1 MiB of other blocks is still found', () => {
    const d = generatePrivateKey();
    const junk = flood('-----BEGIN X-----\nAAAA\n-----END X-----\n');
    const text = `${junk}${publicKeyToPem(publicKeyFromPrivateKey(d))}${privateKeyToPem(d)}`;
    expect(parsePublicKey(text)).toEqual(publicKeyFromPrivateKey(d));
    expect(parsePrivateKey(text)).toEqual(d);
  });
});

describe('readPemBlocks keeps its rules', () => {
  test('blocks in order, headers, whitespace and CRLF', () => {
    const text =
      'junk\n-----BEGIN A-----  \r\nQUJD\r\nREVG\r\n-----END A-----\n' +
      '-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: X\n\nQUJD\n-----END EC PRIVATE KEY-----';
    expect(readPemBlocks(text)).toEqual([
      { label: 'A', headers: {}, body: 'QUJDREVG' },
      { label: 'EC PRIVATE KEY', headers: { 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'X' }, body: 'QUJD' },
    ]);
  });

  test('a mismatched END, a missing END, and a malformed BEGIN after the last block are errors', () => {
    expect(() => readPemBlocks('-----BEGIN A-----\nQUJD\n-----END B-----\n')).toThrow('PEM block "A" ends with "B"');
    expect(() => readPemBlocks('-----BEGIN A-----\nQUJD\n')).toThrow('PEM block has no END line');
    expect(() => readPemBlocks('-----BEGIN A-----\nQUJD\n-----END A-----\n-----BEGIN a-----\n')).toThrow(
      'PEM block has no END line',
    );
  });

  test('a malformed END line is skipped for the next well-formed one', () => {
    expect(readPemBlocks('-----BEGIN A-----\nQU\n-----END a-----\nJD\n-----END A-----\n')).toEqual([
      { label: 'A', headers: {}, body: 'QU-----ENDa-----JD' },
    ]);
  });
});
