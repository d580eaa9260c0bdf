import { loadSecurityConfig } from '../../config';
import { parseEccFieldBytes, parseHsmPreload, parseHsmProfile, parseHsmSymbols } from '../../config/hsm-library-keys';
import {
  openDevice,
  resolveSdfLibraryOptions,
  SdfBindingError,
  SdfLibrary,
  type DeviceInfo,
  type SdfLibraryOptions,
} from '../../sdf';
import { defineCommand, UsageError } from '../command';
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
function target(values: InfoValues): { libPath: string; options: SdfLibraryOptions } {
  const config = values.config === undefined ? undefined : loadSecurityConfig(values.config);
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
  usage:
    'gmt0018 info (--lib PATH | --config config.ini) [--profile NAME] [--ecc-field-bytes 64|32] ' +
    '[--sign-with-alg-id] [--symbols SDF_A=B,...] [--preload LIB1:LIB2] [--json]\n' +
    '       gmt0018 info --pkcs11 MODULE [--pin-file FILE] [--json]',
  options: {
    lib: { type: 'string' },
    pkcs11: { type: 'string' },
    'pin-file': { type: 'string' },
    config: { type: 'string' },
    profile: { type: 'string' },
    'ecc-field-bytes': { type: 'string' },
    'sign-with-alg-id': { type: 'boolean' },
    symbols: { type: 'string' },
    preload: { type: 'string' },
  },
  async run(values, out) {
    if (values.pkcs11 !== undefined) {
      const report = await pkcs11Report(values.pkcs11, values['pin-file']);
      out.result(reportLines(report).join('\n'), report);
      return;
    }
    const { libPath, options } = target(values);
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
