// `--file -` reads the data from standard input, for sign and verify.
import { bytesToHex, generatePrivateKey, hexToBytes, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';

const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const nodes = new NodeFolders(privateKey);
afterAll(() => nodes.removeAll());

const DATA = Buffer.from([0x00, 0xff, 0x0a, 0x2d, 0x0d, 0x0a]); // binary, newlines and a '-'

test('sign --file - signs the bytes on standard input, unchanged', () => {
  const config = nodes.config('enable_hsm=false\nprivate_key_path=conf/node.pem');
  const result = runCli(['sign', '--config', config, '--file', '-'], { input: DATA });
  expect(result.status).toBe(0);
  expect(sm2Verify(publicKey, DATA, hexToBytes(result.stdout))).toBe(true);
  expect(sm2Verify(publicKey, DATA.subarray(0, 5), hexToBytes(result.stdout))).toBe(false);
});

test('verify --file - checks the bytes on standard input', () => {
  const config = nodes.config('enable_hsm=false\nprivate_key_path=conf/node.pem');
  const signature = runCli(['sign', '--config', config, '--hex', DATA.toString('hex')]).stdout;
  const args = ['verify', '--pubkey', bytesToHex(publicKey), '--signature', signature, '--file', '-'];
  expect(runCli(args, { input: DATA })).toMatchObject({ status: 0, stdout: 'valid' });
  expect(runCli(args, { input: Buffer.from('other') })).toMatchObject({ status: 1, stdout: 'invalid' });
});

test('--file - with --hex is still "give --hex or --file, not both"', () => {
  const config = nodes.config('enable_hsm=false\nprivate_key_path=conf/node.pem');
  const result = runCli(['sign', '--config', config, '--hex', '00', '--file', '-'], { input: DATA });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('give --hex or --file, not both');
});
