// C_SignInit and C_Sign as a signing thread makes them (../native/sign-thread.ts), on a session
// the event loop opened and logged in. The module is the file the event loop loaded and
// initialised (the dynamic loader hands this thread the same copy), called through the function
// list the event loop took from it; this thread never initialises or finalises it.
import { OUTPUT_ROOM, type CallResult, type SignThreadCall } from '../native/sign-ring';
import { readUlong, ulongValue, writeUlong } from './attributes';
import { CKR } from './constants';
import { mechanismStruct, Pkcs11Functions } from './functions';

export interface Pkcs11ThreadCallData {
  kind: 'pkcs11';
  /** The file the event loop loaded. */
  libPath: string;
  /** The function list the event loop initialised the module through (a proxy's client hands out one per call). */
  functionList: bigint;
  mechanism: number;
}

/** Largest signature this thread finishes an operation for, once told the room is too small. */
const LARGEST_SIGNATURE = 1 << 16;

export function pkcs11ThreadCall(data: Pkcs11ThreadCallData): SignThreadCall {
  const functions = new Pkcs11Functions(data.libPath, { callTimeoutMs: 0, functionList: data.functionList });
  const mechanism = mechanismStruct(data.mechanism);
  const length = ulongValue(0);
  return { room: OUTPUT_ROOM, sign };

  function sign(session: bigint, key: bigint, digest: Buffer, out: Buffer, result: CallResult): void {
    const handle = Number(session);
    result.step = 0;
    result.code = functions.callReturning('C_SignInit', [handle, mechanism, Number(key)]);
    if (result.code !== CKR.CKR_OK) return;
    result.step = 1;
    writeUlong(length, OUTPUT_ROOM);
    result.code = functions.callReturning('C_Sign', [handle, digest, digest.length, out, length]);
    result.outputLength = readUlong(length);
    if (result.code === CKR.CKR_BUFFER_TOO_SMALL && result.outputLength <= LARGEST_SIGNATURE) {
      // The operation stays active after CKR_BUFFER_TOO_SMALL: end it, so the session can sign
      // again. A signature longer than the room is refused by the event loop.
      const larger = Buffer.alloc(result.outputLength);
      result.code = functions.callReturning('C_Sign', [handle, digest, digest.length, larger, length]);
      result.outputLength = readUlong(length);
      if (result.code === CKR.CKR_OK && result.outputLength <= larger.length) {
        larger.copy(out, 0, 0, Math.min(result.outputLength, OUTPUT_ROOM));
      }
    }
  }
}
