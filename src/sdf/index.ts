export { SDR, SDR_OK, SDR_BASE, SGD, sdrName, parseSdrCode } from './codes';
export type { SdrName, SgdName } from './codes';
export { SdfError, SdfBindingError } from './errors';
export type { SdfBindingErrorCode } from './errors';
export { SdfLibrary, SDF_FUNCTION_NAMES } from './library';
export type { SdfLibraryOptions, SdfFunctionName } from './library';
export { SdfDevice, openDevice } from './device';
export { SdfSession } from './session';
export type { DeviceInfo, EccFieldBytes } from './structs';
