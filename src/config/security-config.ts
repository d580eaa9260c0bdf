/**
 * SecurityConfig objects that do not give away their password.
 *
 * The object is a frozen record of the public fields, wrapped in a Proxy whose `get` answers
 * `password`. So `cfg.password` works, while JSON.stringify, util.inspect (even with showHidden,
 * customInspect: false and getters: true: inspect looks through the proxy at the record, which has
 * no password anywhere on its prototype chain), String(cfg), Object.keys/entries and object spread
 * never see it.
 *
 * Consequence for callers: `{ ...cfg }` drops the password. To derive a changed config, pass the
 * password explicitly: `createSecurityConfig({ ...cfg, password: cfg.password, keyIndex: 2 })`.
 */
import { inspect, type InspectOptions } from 'node:util';
import type { SdfLibraryOptions } from '../sdf/library';
import { DEFAULT_HSM_LIB_PATH } from './defaults';
import { INT_MAX } from './values';
import type { ConfigWarning, Pkcs11Settings, RemoteSignerSettings, SecurityConfig, SecurityConfigInput } from './types';

const REDACTED = '<redacted>';

/** Password by record and by proxy (methods run with either as `this`). */
const passwords = new WeakMap<object, string>();

type PublicFields = Omit<SecurityConfig, 'password'>;

/** The visible part: the public fields as own, enumerable, read-only properties. */
class SecurityConfigRecord {
  declare readonly enableHsm: boolean;
  declare readonly hsmLibPath: string;
  declare readonly keyIndex?: number;
  declare readonly encKeyIndex?: number;
  declare readonly privateKeyPath: string;
  declare readonly configPath?: string;
  declare readonly hsmLibrary?: SdfLibraryOptions;
  declare readonly hsmVerifySignatures?: boolean;
  declare readonly hsmSignThreads?: number;
  declare readonly pkcs11?: Pkcs11Settings;
  declare readonly remoteSigner?: RemoteSignerSettings;
  declare readonly warnings?: readonly ConfigWarning[];

  constructor(fields: PublicFields) {
    const define = (name: keyof PublicFields, value: unknown): void => {
      if (value === undefined) return;
      Object.defineProperty(this, name, { value, enumerable: true, writable: false, configurable: false });
    };
    define('enableHsm', fields.enableHsm);
    define('hsmLibPath', fields.hsmLibPath);
    define('keyIndex', fields.keyIndex);
    define('encKeyIndex', fields.encKeyIndex);
    define('privateKeyPath', fields.privateKeyPath);
    define('configPath', fields.configPath);
    define('hsmLibrary', fields.hsmLibrary);
    define('hsmVerifySignatures', fields.hsmVerifySignatures);
    define('hsmSignThreads', fields.hsmSignThreads);
    define('pkcs11', fields.pkcs11);
    define('remoteSigner', fields.remoteSigner);
    define('warnings', fields.warnings);
    Object.freeze(this);
  }

  /** All fields, with the password replaced by `<redacted>` (or `''` when there is none). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...(this as PublicFields) };
    out.password = (passwords.get(this) ?? '') === '' ? '' : REDACTED;
    return out;
  }

  toString(): string {
    const mode = this.enableHsm
      ? `hsm ${this.hsmLibPath} key_index=${this.keyIndex ?? '?'}`
      : `software ${this.privateKeyPath}`;
    const pw = (passwords.get(this) ?? '') === '' ? 'no password' : `password ${REDACTED}`;
    return `SecurityConfig(${mode}, ${pw})`;
  }

  get [Symbol.toStringTag](): string {
    return 'SecurityConfig';
  }

  [inspect.custom](_depth: number, options: InspectOptions): string {
    return `SecurityConfig ${inspect(this.toJSON(), { ...options, customInspect: false })}`;
  }
}

function redacting(fields: PublicFields, password: string): SecurityConfig {
  const record = new SecurityConfigRecord(fields);
  const proxy = new Proxy(record, {
    get: (target, prop, receiver) => (prop === 'password' ? password : Reflect.get(target, prop, receiver)),
    has: (target, prop) => prop === 'password' || Reflect.has(target, prop),
  });
  passwords.set(record, password);
  passwords.set(proxy, password);
  return proxy as unknown as SecurityConfig;
}

function checkString(name: string, value: unknown): void {
  if (typeof value !== 'string') {
    // Never echo the value: it might be the password.
    throw new TypeError(`createSecurityConfig: ${name} must be a string (got ${typeof value})`);
  }
}

function checkIndex(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`createSecurityConfig: ${name} must be an integer or undefined`);
  }
  if (value < 0 || value > INT_MAX) {
    throw new RangeError(`createSecurityConfig: ${name} must be in 0..${INT_MAX} (got ${value})`);
  }
}

/** A frozen copy, so that the config object stays immutable all the way down. */
function frozenLibrarySettings(settings: SdfLibraryOptions): SdfLibraryOptions {
  if (settings === null || typeof settings !== 'object') {
    throw new TypeError('createSecurityConfig: hsmLibrary must be an object');
  }
  const copy: SdfLibraryOptions = { ...settings };
  if (settings.symbols !== undefined) copy.symbols = Object.freeze({ ...settings.symbols });
  if (settings.preload !== undefined) copy.preload = Object.freeze([...settings.preload]);
  return Object.freeze(copy);
}

function frozenPkcs11Settings(settings: Pkcs11Settings): Pkcs11Settings {
  if (settings === null || typeof settings !== 'object') {
    throw new TypeError('createSecurityConfig: pkcs11 must be an object');
  }
  checkString('pkcs11.library', settings.library);
  if ('pin' in settings) {
    // the PIN belongs in `password`, which is kept out of every view of the config
    throw new TypeError('createSecurityConfig: pass the PKCS#11 PIN as password, not pkcs11.pin');
  }
  const copy: Pkcs11Settings = { ...settings };
  if (settings.preload !== undefined) copy.preload = Object.freeze([...settings.preload]);
  return Object.freeze(copy);
}

function frozenRemoteSigner(settings: RemoteSignerSettings): RemoteSignerSettings {
  const urls = (settings as { urls?: unknown } | null)?.urls;
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new TypeError('createSecurityConfig: remoteSigner.urls must be a non-empty array of URLs');
  }
  urls.forEach((url, i) => checkString(`remoteSigner.urls[${i}]`, url));
  if (settings.tokenFile !== undefined) checkString('remoteSigner.tokenFile', settings.tokenFile);
  const copy: RemoteSignerSettings = { urls: Object.freeze([...(urls as string[])]) };
  if (settings.tokenFile !== undefined) copy.tokenFile = settings.tokenFile;
  return Object.freeze(copy);
}

const WARNING_FIELDS = ['message', 'section', 'key', 'suggestion', 'file', 'line'] as const;

/** Frozen copies holding only the fields of ConfigWarning (nothing else rides along into logs). */
function frozenWarnings(warnings: readonly ConfigWarning[]): readonly ConfigWarning[] {
  if (!Array.isArray(warnings)) throw new TypeError('createSecurityConfig: warnings must be an array');
  return Object.freeze(
    warnings.map((warning: ConfigWarning) => {
      checkString('warnings[].message', warning?.message);
      const copy: Record<string, unknown> = {};
      for (const name of WARNING_FIELDS) if (warning[name] !== undefined) copy[name] = warning[name];
      return Object.freeze(copy as unknown as ConfigWarning);
    }),
  );
}

/**
 * Build the redacting, frozen SecurityConfig object from plain fields (which may themselves be a
 * redacting object: its password is read through the getter), filling what an HsmConfigInput or
 * SoftwareConfigInput may leave out: enableHsm false, hsmLibPath DEFAULT_HSM_LIB_PATH, password '',
 * encKeyIndex = keyIndex, and privateKeyPath '' where no key file is used (HSM, PKCS#11, remote).
 * @throws TypeError / RangeError for fields of the wrong type or range (never showing the password)
 */
export function createSecurityConfig(input: SecurityConfigInput): SecurityConfig {
  if (input === null || typeof input !== 'object') {
    throw new TypeError('createSecurityConfig: expected an object');
  }
  const fields = input as Partial<SecurityConfig>;
  const enableHsm = fields.enableHsm ?? false;
  if (typeof enableHsm !== 'boolean') {
    throw new TypeError('createSecurityConfig: enableHsm must be a boolean');
  }
  const usesKeyFile = !enableHsm && fields.pkcs11 === undefined && fields.remoteSigner === undefined;
  if (usesKeyFile && fields.privateKeyPath === undefined) {
    throw new TypeError('createSecurityConfig: privateKeyPath is required for a software key (enableHsm false)');
  }
  const hsmLibPath = fields.hsmLibPath ?? DEFAULT_HSM_LIB_PATH;
  const privateKeyPath = fields.privateKeyPath ?? '';
  const password = fields.password ?? '';
  checkString('hsmLibPath', hsmLibPath);
  checkString('privateKeyPath', privateKeyPath);
  checkString('password', password);
  if (fields.configPath !== undefined) checkString('configPath', fields.configPath);
  checkIndex('keyIndex', fields.keyIndex);
  checkIndex('encKeyIndex', fields.encKeyIndex);

  const plain: PublicFields = { enableHsm, hsmLibPath, privateKeyPath };
  if (fields.keyIndex !== undefined) plain.keyIndex = fields.keyIndex;
  const encKeyIndex = fields.encKeyIndex ?? fields.keyIndex;
  if (encKeyIndex !== undefined) plain.encKeyIndex = encKeyIndex;
  if (fields.configPath !== undefined) plain.configPath = fields.configPath;
  if (fields.hsmLibrary !== undefined) plain.hsmLibrary = frozenLibrarySettings(fields.hsmLibrary);
  if (fields.pkcs11 !== undefined) plain.pkcs11 = frozenPkcs11Settings(fields.pkcs11);
  if (fields.hsmVerifySignatures !== undefined) {
    if (typeof fields.hsmVerifySignatures !== 'boolean') {
      throw new TypeError('createSecurityConfig: hsmVerifySignatures must be a boolean or undefined');
    }
    plain.hsmVerifySignatures = fields.hsmVerifySignatures;
  }
  if (fields.hsmSignThreads !== undefined) {
    if (!Number.isInteger(fields.hsmSignThreads) || fields.hsmSignThreads < 0) {
      throw new TypeError('createSecurityConfig: hsmSignThreads must be a non-negative integer or undefined');
    }
    plain.hsmSignThreads = fields.hsmSignThreads;
  }
  if (fields.remoteSigner !== undefined) plain.remoteSigner = frozenRemoteSigner(fields.remoteSigner);
  if (fields.warnings !== undefined && fields.warnings.length > 0) plain.warnings = frozenWarnings(fields.warnings);
  return redacting(plain, password);
}
