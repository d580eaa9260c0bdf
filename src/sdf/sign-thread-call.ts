// SDF_InternalSign_ECC as a signing thread makes it (../native/sign-thread.ts). The session is
// the one the event loop opened, crossing as its handle's address.
import koffi from 'koffi';
import type { SignThreadCall, ThreadCallData } from '../native/sign-ring';

export interface SdfThreadCallData extends ThreadCallData {
  kind: 'sdf';
  symbol: string;
  /** SDF_InternalSign_ECC takes uiAlgID first (internalSignWithAlgId); its value. */
  algId: number | null;
}

export function sdfThreadCall(data: SdfThreadCallData): SignThreadCall {
  const library = koffi.load(data.libPath);
  if (data.algId === null) {
    const sign = library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
    return (session, key, digest, out, result) => {
      result.code = sign(session, Number(key), digest, digest.length, out) as number;
    };
  }
  const algId = data.algId;
  const sign = library.func(data.symbol, 'int', ['uintptr_t', 'uint32_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
  return (session, key, digest, out, result) => {
    result.code = sign(session, algId, Number(key), digest, digest.length, out) as number;
  };
}
