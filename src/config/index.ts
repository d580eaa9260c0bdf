export { ConfigError, ConfigErrorCodes, type ConfigErrorCode, type ConfigErrorLocation } from './errors';
export { parseIni, type IniDocument, type IniSection, type IniEntry } from './ini';
export { parseBoolean, parseUnsignedInt } from './values';
export type {
  SecurityConfig,
  SecurityConfigInput,
  HsmConfigInput,
  SoftwareConfigInput,
  ConfigWarning,
  Pkcs11Settings,
  RemoteSignerSettings,
} from './types';
export { createSecurityConfig } from './security-config';
export {
  parseSecurityConfig,
  loadSecurityConfig,
  DEFAULT_HSM_LIB_PATH,
  DEFAULT_PRIVATE_KEY_PATH,
  type ParseSecurityConfigOptions,
} from './security';
export { parseJavaSdkConfig, type JavaSdkConfigOptions } from './java-sdk-config';
