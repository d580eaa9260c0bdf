// C_SignInit and C_Sign as a signing thread makes them (../native/sign-thread.ts), on a session
// the event loop opened and logged in, through the function list the event loop initialised the
// module through: a proxy's client module hands out a new, uninitialised instance at every
// C_GetFunctionList. This thread never initialises or finalises the module.
import koffi from 'koffi';
import { capacityOf, guardedBuffer, guardIntact, spoilGuard } from '../native/guard-bytes';
import type { CallResult, SignThreadCall, ThreadCallData } from '../native/sign-ring';
import { readUlong, ulongValue, writeUlong } from './attributes';
import { CKR } from './constants';
import { functionsIn, mechanismStruct, pointerAt } from './functions';
import { LARGEST_SIGNATURE } from './session';

export interface Pkcs11ThreadCallData extends ThreadCallData {
  kind: 'pkcs11';
  /** The address of the function list the event loop initialised the module through. */
  functionList: bigint;
  mechanism: number;
}

/** Held while the thread runs: the module stays loaded under the function pointers taken from it. */
const loaded: unknown[] = [];

export function pkcs11ThreadCall(data: Pkcs11ThreadCallData): SignThreadCall {
  loaded.push(koffi.load(data.libPath));
  const functions = functionsIn(pointerAt(data.functionList), ['C_SignInit', 'C_Sign']);
  const signInit = functions.get('C_SignInit');
  const signOnce = functions.get('C_Sign');
  if (!signInit || !signOnce) throw new Error(`${data.libPath} has no C_SignInit or C_Sign in its function list`);
  const mechanism = mechanismStruct(data.mechanism);
  const length = ulongValue(0);
  const room = data.room;

  return (session: bigint, key: bigint, digest: Buffer, out: Buffer, result: CallResult): void => {
    const handle = Number(session);
    result.step = 0;
    result.code = Number(signInit(handle, mechanism, Number(key)));
    if (result.code !== CKR.CKR_OK) return;
    result.step = 1;
    writeUlong(length, room);
    result.code = Number(signOnce(handle, digest, digest.length, out, length));
    result.outputLength = readUlong(length);
    if (result.code === CKR.CKR_BUFFER_TOO_SMALL && result.outputLength <= LARGEST_SIGNATURE) {
      // The operation stays active after CKR_BUFFER_TOO_SMALL: end it, as on the pool.
      const larger = guardedBuffer(result.outputLength);
      writeUlong(length, capacityOf(larger));
      result.code = Number(signOnce(handle, digest, digest.length, larger, length));
      result.outputLength = readUlong(length);
      if (result.code !== CKR.CKR_OK) return;
      // What does not fit the room is refused by the event loop, as is a write past the room given.
      if (!guardIntact(larger) || result.outputLength > capacityOf(larger)) spoilGuard(out);
      else larger.copy(out, 0, 0, Math.min(result.outputLength, room));
    }
  };
}
