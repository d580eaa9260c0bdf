/** FISCO's default for private_key_path (SecurityConfig.cpp); the generated config.ini says conf/node.pem. */
export const DEFAULT_PRIVATE_KEY_PATH = 'node.pem';
/** FISCO's default for hsm_lib_path. */
export const DEFAULT_HSM_LIB_PATH = '/usr/local/lib/libgmt0018.so';
