// --verbose names the backend a config chose (never a secret); a config's warnings go to stderr.
import { Output } from '../../src/cli/command';
import { backendChoice, describeBackend, printConfigWarnings } from '../../src/cli/node-config';
import { createSecurityConfig, type SecurityConfig } from '../../src/config';
import { generatePrivateKey } from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';

const PASSWORD = 'verbose#pw';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const nodes = new NodeFolders(privateKey);
let hsmConfig: string;
let softwareConfig: string;

beforeAll(() => {
  keystore.import(1, PASSWORD, privateKey);
  hsmConfig = nodes.config(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}`);
  softwareConfig = nodes.config('enable_hsm=false\nprivate_key_path=conf/node.pem');
});
afterAll(() => {
  keystore.remove();
  nodes.removeAll();
});

const base = {
  enableHsm: false,
  hsmLibPath: '/usr/lib/libsdf.so',
  privateKeyPath: '/node/conf/node.pem',
  password: PASSWORD,
};

/** An Output whose stdout and stderr are strings. */
function captured(json: boolean) {
  const written = { stdout: '', stderr: '' };
  const out = new Output(
    json,
    (text) => (written.stdout += text),
    (text) => (written.stderr += text),
  );
  return { out, written };
}

describe('backend description', () => {
  it('names library and key index, key file, PKCS#11 token and key, or service URLs without credentials', () => {
    const hsm = createSecurityConfig({ ...base, enableHsm: true, keyIndex: 1 });
    expect(describeBackend(backendChoice(hsm))).toBe('hsm (/usr/lib/libsdf.so, key_index 1)');
    expect(describeBackend(backendChoice(createSecurityConfig(base)))).toBe('software (/node/conf/node.pem)');
    const pkcs11 = createSecurityConfig({
      ...base,
      pkcs11: { library: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'node', keyLabel: 'sign' },
    });
    expect(describeBackend(backendChoice(pkcs11))).toBe(
      'pkcs11 (/usr/lib/softhsm/libsofthsm2.so, token "node", key label "sign")',
    );
    const remote = createSecurityConfig({
      ...base,
      remoteSigner: { urls: ['https://user:secret@signer-a:8443/', 'https://signer-b:8443'], tokenFile: '/t' },
    });
    expect(describeBackend(backendChoice(remote))).toBe('remote (https://signer-a:8443, https://signer-b:8443)');
    for (const config of [hsm, pkcs11, remote]) {
      expect(describeBackend(backendChoice(config))).not.toContain(PASSWORD);
      expect(describeBackend(backendChoice(config))).not.toContain('secret');
    }
  });
});

describe.each([
  ['hsm', () => hsmConfig, `hsm (${MOCK_LIB}, key_index 1)`],
  ['software', () => softwareConfig, 'software (/'],
])('gmt0018 --verbose with the %s backend', (backend, config, line) => {
  it.each([['pubkey'], ['nodeid'], ['sign', '--hex', '00']])('%s says which backend on stderr', (...args) => {
    const result = runCli([...args, '--config', config(), '--verbose'], { keystore: keystore.dir });
    expect(result.status).toBe(0);
    expect(result.stderr.startsWith(`backend: ${line}`)).toBe(true);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('bench says it too, and -v is --verbose', () => {
    const result = runCli(['bench', '--config', config(), '-v', '--ops', '2', '--warmup', '1'], {
      keystore: keystore.dir,
    });
    expect(result.status).toBe(0);
    expect(result.stderr.split('\n')[0]).toContain(`backend: ${line}`);
  });

  it('is one JSON line with --json; without --verbose nothing is said', () => {
    const result = runCli(['nodeid', '--config', config(), '--verbose', '--json'], { keystore: keystore.dir });
    expect(JSON.parse(result.stderr)).toEqual({ backend: expect.objectContaining({ name: backend }) });
    expect(result.stderr).not.toContain(PASSWORD);
    expect(runCli(['nodeid', '--config', config()], { keystore: keystore.dir }).stderr).toBe('');
  });
});

describe('config warnings', () => {
  const warning = {
    message: '[security] enable_hms is not a known key (did you mean enable_hsm?)',
    section: 'security',
    key: 'enable_hms',
    suggestion: 'enable_hsm',
    file: '/node/config.ini',
    line: 7,
  };
  const config: SecurityConfig = { ...createSecurityConfig(base), password: '', warnings: [warning] };

  it('prints each as "warning: …" on stderr, nothing on stdout', () => {
    const { out, written } = captured(false);
    printConfigWarnings({ ...config, warnings: [warning, { ...warning, key: 'x', message: 'second' }] }, out);
    expect(written).toEqual({
      stdout: '',
      stderr: 'warning: [security] enable_hms is not a known key (did you mean enable_hsm?)\nwarning: second\n',
    });
  });

  it('prints each as one JSON line with --json', () => {
    const { out, written } = captured(true);
    printConfigWarnings(config, out);
    expect(written.stdout).toBe('');
    expect(written.stderr.endsWith('\n')).toBe(true);
    expect(JSON.parse(written.stderr)).toEqual({ warning });
  });

  it('prints nothing when there are none', () => {
    const { out, written } = captured(false);
    printConfigWarnings(createSecurityConfig(base), out);
    printConfigWarnings({ ...config, warnings: [] }, out);
    expect(written).toEqual({ stdout: '', stderr: '' });
  });
});
