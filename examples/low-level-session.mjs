// The GM/T 0018 calls one by one, as FISCO's C++ makes them: open the device, open a session,
// unlock the key with its password, export its public key, sign a digest inside the card, check
// the signature, then release everything in reverse order.
//
//   node examples/low-level-session.mjs
import { sm2Digest, sm2Verify } from 'gmt0018';
import { openDevice } from 'gmt0018/sdf';
import { provisionExampleNodes } from './lib/example-nodes.mjs';

const hsm = provisionExampleNodes();
const message = new TextEncoder().encode('signed inside the card');

const device = await openDevice(hsm.hsmLibPath); // SDF_OpenDevice
try {
  const info = await device.info(); // SDF_GetDeviceInfo
  console.log(`device:  ${info.issuerName} ${info.deviceName} (serial ${info.deviceSerial})`);
  const session = await device.openSession(); // SDF_OpenSession
  try {
    // FISCO calls SDF_GetPrivateKeyAccessRight only when a password is configured.
    if (hsm.password !== '') await session.getPrivateKeyAccessRight(hsm.keyIndex, hsm.password);
    const publicKey = await session.exportSignPublicKey(hsm.keyIndex); // SDF_ExportSignPublicKey_ECC
    console.log(`key:     index ${hsm.keyIndex}, public key ${Buffer.from(publicKey).toString('hex').slice(0, 32)}…`);

    // The card signs a 32-byte digest e = SM3(Z || message); Z binds the public key and user ID.
    const digest = sm2Digest(publicKey, message);
    const signature = await session.internalSign(hsm.keyIndex, digest); // SDF_InternalSign_ECC
    console.log(`sign:    ${Buffer.from(signature).toString('hex')}`);

    const byCard = await session.externalVerify(publicKey, digest, signature); // SDF_ExternalVerify_ECC
    const inJs = sm2Verify(publicKey, message, signature);
    console.log(`verify:  by the card ${byCard}, in JavaScript ${inJs}`);
    if (!byCard || !inJs) process.exitCode = 1;

    if (hsm.password !== '') await session.releasePrivateKeyAccessRight(hsm.keyIndex);
  } finally {
    await session.close(); // SDF_CloseSession
  }
} finally {
  await device.close(); // SDF_CloseDevice
}
console.log('closed:  session and device');
