import { openDevice } from '../../sdf';
import { defineCommand, required } from '../command';

export const info = defineCommand({
  name: 'info',
  summary: 'show device information and which SDF functions a library exports',
  usage: 'gmt0018 info --lib PATH [--json]',
  options: { lib: { type: 'string' } },
  async run(values, out) {
    const device = await openDevice(required(values.lib, '--lib'));
    try {
      const deviceInfo = await device.info();
      const functions = device.library.exports();
      const lines = [
        `library:    ${device.libPath}`,
        `issuer:     ${deviceInfo.issuerName}`,
        `device:     ${deviceInfo.deviceName}`,
        `serial:     ${deviceInfo.deviceSerial}`,
        `version:    device 0x${deviceInfo.deviceVersion.toString(16)}, standard ${deviceInfo.standardVersion}`,
        `asymmetric: ${deviceInfo.asymmetricAlgorithms.join(' ') || '-'} (up to ${deviceInfo.asymmetricMaxBits} bits)`,
        `symmetric:  ${deviceInfo.symmetricAlgorithms.join(' ') || '-'}`,
        `hash:       ${deviceInfo.hashAlgorithms.join(' ') || '-'}`,
        `buffer:     ${deviceInfo.bufferSize} bytes`,
        `functions:  ${functions.present.length} present, ${functions.missing.length} missing`,
        ...functions.present.map((name) => `  present  ${name}`),
        ...functions.missing.map((name) => `  missing  ${name}`),
      ];
      out.result(lines.join('\n'), { library: device.libPath, device: deviceInfo, functions });
    } finally {
      await device.close();
    }
  },
});
