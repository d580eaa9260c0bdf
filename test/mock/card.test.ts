import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { mockCardLibrary } from '../../src/mock/card';

const BUILT = resolve(__dirname, '../../native-bindings/mock-sdf/build/libgmt0018.so');

function onPlatform<T>(platform: string, arch: string, run: () => T): T {
  const saved = { platform: process.platform, arch: process.arch };
  Object.defineProperty(process, 'platform', { value: platform });
  Object.defineProperty(process, 'arch', { value: arch });
  try {
    return run();
  } finally {
    Object.defineProperty(process, 'platform', { value: saved.platform });
    Object.defineProperty(process, 'arch', { value: saved.arch });
  }
}

describe('mockCardLibrary', () => {
  it("is the standard mock card's library, found from the package root", () => {
    expect(existsSync(BUILT)).toBe(true);
    expect(onPlatform('linux', 'x64', mockCardLibrary)).toBe(BUILT);
  });

  it.each([
    ['darwin', 'arm64'],
    ['linux', 'arm64'],
    ['win32', 'x64'],
  ])('says on %s-%s that the packaged build is for linux-x64, and how to build one', (platform, arch) => {
    expect(() => onPlatform(platform, arch, mockCardLibrary)).toThrow(
      `the packaged mock card is built for linux-x64, not ${platform}-${arch}: build it from the repository with npm run build:mock`,
    );
  });
});
