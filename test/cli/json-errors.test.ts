// With --json, an error is one JSON object on stderr: {"error":{"command","code","message","exitCode"}}.
import { join } from 'node:path';
import { ConfigError } from '../../src/config';
import { classify, errorJson } from '../../src/cli/errors';
import { Pkcs11BindingError, Pkcs11Error } from '../../src/pkcs11';
import { SdfError } from '../../src/sdf';
import { RemoteSignerError } from '../../src/signer';
import { generatePrivateKey } from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';

const PASSWORD = 'json-err#pw';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const nodes = new NodeFolders(privateKey);

beforeAll(() => keystore.import(1, PASSWORD, privateKey));
afterAll(() => {
  keystore.remove();
  nodes.removeAll();
});

function gmt0018(args: string[]) {
  return runCli([...args, '--json'], { keystore: keystore.dir });
}

/** The one JSON object on stderr, nothing on stdout. */
function jsonError(result: ReturnType<typeof gmt0018>) {
  expect(result.stdout).toBe('');
  expect(result.stderr.split('\n')).toHaveLength(1);
  return JSON.parse(result.stderr) as { error: Record<string, unknown> };
}

test('a device error gives its SDR code and exit code 3, never the password', () => {
  const config = nodes.config(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=9\npassword=${PASSWORD}`);
  const result = gmt0018(['nodeid', '--config', config]);
  expect(result.status).toBe(3);
  expect(jsonError(result)).toEqual({
    error: {
      command: 'nodeid',
      code: 'SDR_KEYNOTEXIST',
      message: expect.stringContaining('SDR_KEYNOTEXIST'),
      exitCode: 3,
    },
  });
  expect(result.stderr).not.toContain(PASSWORD);
});

test('a wrong password gives SDR_PARDENY, never the password', () => {
  const config = nodes.config(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=not-${PASSWORD}`);
  const result = gmt0018(['pubkey', '--config', config]);
  expect(result.status).toBe(3);
  expect(jsonError(result).error).toMatchObject({ code: 'SDR_PARDENY', exitCode: 3 });
  expect(result.stderr).not.toContain(PASSWORD);
});

test('a config error gives its CONFIG_ code and exit code 2, never the password', () => {
  const config = nodes.config(`enable_hsm=TRUE\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}`);
  const result = gmt0018(['sign', '--config', config, '--hex', '00']);
  expect(result.status).toBe(2);
  const { error } = jsonError(result);
  expect(error).toMatchObject({ command: 'sign', code: 'CONFIG_BAD_BOOLEAN', exitCode: 2 });
  expect(error.message).toContain('enable_hsm');
  expect(result.stderr).not.toContain(PASSWORD);
  const missing = gmt0018(['pubkey', '--config', join(keystore.dir, 'none.ini')]);
  expect(jsonError(missing).error).toMatchObject({ code: 'CONFIG_FILE_UNREADABLE', exitCode: 2 });
});

test('usage errors and unknown commands are JSON too, without the usage text', () => {
  const usage = gmt0018(['sign', '--confg', 'x']);
  expect(usage.status).toBe(2);
  expect(jsonError(usage)).toEqual({
    error: { command: 'sign', code: 'USAGE', message: 'unknown option --confg (did you mean --config?)', exitCode: 2 },
  });
  const command = gmt0018(['sing']);
  expect(command.status).toBe(2);
  expect(jsonError(command)).toEqual({
    error: { code: 'USAGE', message: 'unknown command "sing" (did you mean sign?)', exitCode: 2 },
  });
});

test('a stray argument is not echoed: it may be the second half of a password given unquoted', () => {
  const result = gmt0018(['mock-import', '--keystore', keystore.dir, '--index', '4', '--password', 'two', 'Words#9']);
  expect(result.status).toBe(2);
  expect(jsonError(result).error).toMatchObject({
    code: 'USAGE',
    message: expect.stringMatching(/^argument 7 after mock-import is not an option nor the value of one/),
  });
  expect(result.stderr).not.toContain('Words#9');
});

test('each error class maps to its own code and exit code', () => {
  expect(classify(new ConfigError('CONFIG_MISSING_KEY', 'key_index is required'))).toMatchObject({
    code: 'CONFIG_MISSING_KEY',
    exit: 2,
  });
  expect(classify(new SdfError('SDF_InternalSign_ECC', 0x01000011))).toMatchObject({
    code: 'SDR_FILESIZEERR',
    exit: 3,
  });
  expect(classify(new Pkcs11Error('C_Login', 0xa0))).toMatchObject({ code: 'CKR_PIN_INCORRECT', exit: 3 });
  expect(classify(new Pkcs11BindingError('PKCS11_LIBRARY_NOT_FOUND', 'no module'))).toMatchObject({
    code: 'PKCS11_LIBRARY_NOT_FOUND',
    exit: 2,
  });
  expect(classify(new Pkcs11BindingError('PKCS11_KEY_NOT_FOUND', 'no key'))).toMatchObject({ exit: 3 });
  expect(classify(new RemoteSignerError(0, 'CONNECTION_FAILED', 'refused'))).toMatchObject({
    code: 'CONNECTION_FAILED',
    exit: 3,
  });
  expect(JSON.parse(errorJson(classify(new Error('two\n  lines')), 'sign'))).toEqual({
    error: { command: 'sign', code: 'ERROR', message: 'two lines', exitCode: 3 },
  });
});
