// End to end: a typo in [security] is a warning on stderr, and the command still runs.
// Needs the config reader to fill SecurityConfig.warnings (the config helper's work): until that
// is merged this file fails, since the reader ignores unknown keys without a word.
import { generatePrivateKey } from '../../src/sm2';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';

const nodes = new NodeFolders(generatePrivateKey());
afterAll(() => nodes.removeAll());

const config = () => nodes.config('enable_hms=true\nprivate_key_path=conf/node.pem');

test('gmt0018 nodeid prints the warning for enable_hms, and the node id', () => {
  const result = runCli(['nodeid', '--config', config()]);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^[0-9a-f]{128}$/);
  expect(result.stderr).toMatch(/^warning: .*enable_hms is not a known key \(did you mean enable_hsm\?\)$/);
});

test('with --json the warning is one JSON line on stderr', () => {
  const result = runCli(['nodeid', '--config', config(), '--json']);
  expect(result.status).toBe(0);
  expect(JSON.parse(result.stderr)).toEqual({
    warning: expect.objectContaining({ key: 'enable_hms', suggestion: 'enable_hsm' }),
  });
});
