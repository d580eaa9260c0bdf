// gmt0018/mock: the mock card (native-bindings/mock-sdf) that the tests and examples sign with,
// and provisioning its keys.
export { importMockKey, importMockKek, mockKeyFile } from './keystore';
export type { MockKeyImport, MockKekImport, MockKeyUsage } from './keystore';
export { mockCardLibrary, MOCK_KEYSTORE_VARIABLE } from './card';
