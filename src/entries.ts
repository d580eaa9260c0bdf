// Every public entry of the package in one module, so that one bundle holds one copy of each class
// for all of them; dist/index.js, dist/sdf.js … each hand out one of these (see tsup.config.ts).
export * as index from './index';
export * as sdf from './sdf/index';
export * as pkcs11 from './pkcs11/index';
export * as mock from './mock/index';
