import { closest, editDistance } from '../src/did-you-mean';

describe('editDistance', () => {
  it.each([
    ['enable_hsm', 'enable_hsm', 0],
    ['enable_hms', 'enable_hsm', 1],
    ['sing', 'sign', 1],
    ['confg', 'config', 1],
    ['key_idx', 'key_index', 2],
    ['', 'abc', 3],
  ])('%s ↔ %s = %i (a swap of neighbours is one edit)', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('closest', () => {
  it('suggests a near name and nothing for a far one', () => {
    expect(closest('sing', ['info', 'sign', 'verify'])).toBe('sign');
    expect(closest('verfy', ['info', 'sign', 'verify'])).toBe('verify');
    expect(closest('frobnicate', ['info', 'sign', 'verify'])).toBeUndefined();
    expect(closest('x', ['info', 'sign'])).toBeUndefined();
  });

  it('allows two edits from six characters on, one below', () => {
    expect(closest('enalbe_hms', ['enable_hsm'])).toBe('enable_hsm');
    expect(closest('sgin', ['sign'])).toBe('sign');
    expect(closest('sgn', ['sign'])).toBe('sign');
    expect(closest('sgnx', ['sign'])).toBeUndefined();
    expect(closest('abcdxy', ['abcdef'])).toBe('abcdef'); // 6 characters: two edits
    expect(closest('abcxy', ['abcde'])).toBeUndefined(); // 5 characters: one edit only
  });

  it('compares the names as normalize gives them, and answers with the candidate as written', () => {
    const fold = (name: string) => name.toLowerCase().replace(/_/g, '');
    expect(closest('E_N_A_B_L_E', ['enable'], fold)).toBe('enable');
    expect(closest('E_N_A_B_L_E', ['enable'])).toBeUndefined();
  });
});
