import { parseEccFieldBytes, parseHsmPreload, parseHsmProfile, parseHsmSymbols } from '../../config/hsm-library-keys';
import {
  openDevice,
  resolveSdfLibraryOptions,
  SdfBindingError,
  SdfLibrary,
  type DeviceInfo,
  type SdfLibraryOptions,
} from '../../sdf';
import { SDF_PROFILE_NAMES } from '../../sdf/profiles';
import { defineCommand, UsageError, type Output } from '../command';
import { loadNodeConfig } from '../node-config';
import { pkcs11Report, reportLines } from './pkcs11-report';

interface InfoValues {
  lib?: string;
  pkcs11?: string;
  'pin-file'?: string;
  config?: string;
  profile?: string;
  'ecc-field-bytes'?: string;
  'sign-with-alg-id'?: boolean;
  symbols?: string;
  preload?: string;
}

/** Library path and options: from --config's [security] first, then the flags on top. */
function target(values: InfoValues, out: Output): { libPath: string; options: SdfLibraryOptions } {
  const config = values.config === undefined ? undefined : loadNodeConfig(values.config, out);
  const libPath = values.lib ?? config?.hsmLibPath;
  if (libPath === undefined || libPath === '') throw new UsageError('--lib (or --config) is required');
  const flags: SdfLibraryOptions = {};
  if (values.profile !== undefined) flags.profile = parseHsmProfile(values.profile, { key: '--profile' });
  if (values['ecc-field-bytes'] !== undefined) {
    flags.eccFieldBytes = parseEccFieldBytes(values['ecc-field-bytes'], { key: '--ecc-field-bytes' });
  }
  if (values['sign-with-alg-id'] !== undefined) flags.internalSignWithAlgId = values['sign-with-alg-id'];
  if (values.symbols !== undefined) flags.symbols = parseHsmSymbols(values.symbols, { key: '--symbols' });
  if (values.preload !== undefined) flags.preload = parseHsmPreload(values.preload, { key: '--preload' });
  return { libPath, options: resolveSdfLibraryOptions(config?.hsmLibrary, flags) };
}

/** Device information through the library, or why it could not be read. */
async function readDevice(libPath: string, options: SdfLibraryOptions) {
  try {
    const device = await openDevice(libPath, options);
    try {
      return { library: device.library, info: await device.info() };
    } finally {
      await device.close();
    }
  } catch (error) {
    if (error instanceof SdfBindingError && error.code !== 'SDF_SYMBOL_MISSING') throw error;
    const library = new SdfLibrary(libPath, options);
    // No SDF function at all: not an SDF library, nothing to report beyond the error.
    if (library.exports().present.length === 0) throw error;
    return { library, error: error as Error };
  }
}

function deviceLines(info: DeviceInfo): string[] {
  return [
    `issuer:     ${info.issuerName}`,
    `device:     ${info.deviceName}`,
    `serial:     ${info.deviceSerial}`,
    `version:    device 0x${info.deviceVersion.toString(16)}, standard ${info.standardVersion}`,
    `asymmetric: ${info.asymmetricAlgorithms.join(' ') || '-'} (up to ${info.asymmetricMaxBits} bits)`,
    `symmetric:  ${info.symmetricAlgorithms.join(' ') || '-'}`,
    `hash:       ${info.hashAlgorithms.join(' ') || '-'}`,
    `buffer:     ${info.bufferSize} bytes`,
  ];
}

export const info = defineCommand({
  name: 'info',
  summary: "show device information and which SDF functions a library exports, or a PKCS#11 module's tokens and keys",
  options: {
    lib: { type: 'string', value: 'PATH', description: 'the SDF library to inspect' },
    config: {
      type: 'string',
      value: 'FILE',
      description: "a node's config.ini: the library and its profile from [security] (flags override)",
    },
    profile: { type: 'string', value: SDF_PROFILE_NAMES.join('|'), description: "the vendor library's profile" },
    'ecc-field-bytes': { type: 'string', value: '64|32', description: 'size of each ECC field in SDF structures' },
    'sign-with-alg-id': { type: 'boolean', description: 'SDF_InternalSign_ECC takes a uiAlgID argument' },
    symbols: {
      type: 'string',
      value: 'SDF_A=B,...',
      description: 'standard function names the library exports as others',
    },
    preload: { type: 'string', value: 'LIB1:LIB2', description: 'libraries to load before it' },
    pkcs11: {
      type: 'string',
      value: 'MODULE',
      description: 'a PKCS#11 module: its slots, tokens, mechanisms and keys',
    },
    'pin-file': {
      type: 'string',
      value: 'FILE',
      description: 'with --pkcs11: a file holding the user PIN, to list private keys',
    },
  },
  notes: ['Give --lib or --config for an SDF library, or --pkcs11 for a PKCS#11 module.'],
  async run(values, out) {
    if (values.pkcs11 !== undefined) {
      const report = await pkcs11Report(values.pkcs11, values['pin-file']);
      out.result(reportLines(report).join('\n'), report);
      return;
    }
    const { libPath, options } = target(values, out);
    const { library, info: deviceInfo, error } = await readDevice(libPath, options);
    const { present, missing } = library.exports();
    const symbols = library.options.symbols ?? {};
    const shown = (name: string) => (symbols[name] ? `${name} (as ${symbols[name]})` : name);
    const settings = library.options;
    const lines = [
      `library:    ${libPath}`,
      `profile:    ecc fields ${settings.eccFieldBytes} bytes, InternalSign ${
        settings.internalSignWithAlgId ? 'with' : 'without'
      } uiAlgID`,
      ...(deviceInfo ? deviceLines(deviceInfo) : [`device:     not available (${error?.message})`]),
      `functions:  ${present.length} present, ${missing.length} missing`,
      ...present.map((name) => `  present  ${shown(name)}`),
      ...missing.map((name) => `  missing  ${shown(name)}`),
    ];
    out.result(lines.join('\n'), {
      library: libPath,
      options: {
        eccFieldBytes: settings.eccFieldBytes,
        internalSignWithAlgId: settings.internalSignWithAlgId,
        symbols,
      },
      device: deviceInfo ?? null,
      functions: { present, missing },
    });
    // The report is out; the exit code still says the device could not be read.
    if (error) throw error;
  },
});
