// SDF_InternalSign_ECC as a signing thread makes it (../native/sign-thread.ts). The session is
// the one the event loop opened, crossing as its handle's address; the library is the file the
// event loop loaded, which the dynamic loader hands this thread as the same copy.
import koffi from 'koffi';
import type { SignThreadCall } from '../native/sign-ring';
import { signatureStructSize } from './structs';

export interface SdfThreadCallData {
  kind: 'sdf';
  /** The file the event loop loaded. */
  libPath: string;
  symbol: string;
  /** SDF_InternalSign_ECC takes uiAlgID first (internalSignWithAlgId); its value. */
  algId: number | null;
}

/** The ECCSignature struct the device fills, in its widest layout. */
export const SDF_SIGNATURE_ROOM = signatureStructSize(64);

export function sdfThreadCall(data: SdfThreadCallData): SignThreadCall {
  const library = koffi.load(data.libPath);
  const room = SDF_SIGNATURE_ROOM;
  if (data.algId === null) {
    const sign = library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
    return {
      room,
      sign(session, key, digest, out, result) {
        result.code = sign(session, Number(key), digest, digest.length, out) as number;
      },
    };
  }
  const algId = data.algId;
  const sign = library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
  return {
    room,
    sign(session, key, digest, out, result) {
      result.code = sign(session, algId, Number(key), digest, digest.length, out) as number;
    },
  };
}
