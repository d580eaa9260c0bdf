import { runCli } from '../helpers/cli';

describe('gmt0018 with a typo', () => {
  it('names the command it may have meant, exit 2', () => {
    const result = runCli(['sing']);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe('gmt0018: USAGE: unknown command "sing" (did you mean sign?)');
    expect(result.stdout).toBe('');
  });

  it('says only "unknown command" when nothing is close', () => {
    const result = runCli(['frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe('gmt0018: USAGE: unknown command "frobnicate"');
  });

  it('names the option it may have meant, exit 2, with the usage line', () => {
    const result = runCli(['sign', '--confg', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      'gmt0018 sign: USAGE: unknown option --confg (did you mean --config?)',
      'usage: gmt0018 sign --config FILE [options]   (gmt0018 sign --help lists them)',
    ]);
  });

  it('finds common flags too, and suggests nothing for a far option', () => {
    expect(runCli(['nodeid', '--jsno']).stderr).toContain('unknown option --jsno (did you mean --json?)');
    expect(runCli(['nodeid', '--frobnicate']).stderr.split('\n')[0]).toBe(
      'gmt0018 nodeid: USAGE: unknown option --frobnicate',
    );
  });
});
