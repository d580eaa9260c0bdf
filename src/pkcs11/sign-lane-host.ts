import { capacityOf, guardIntact } from '../native/guard-bytes';
import type { CallDeadlines } from '../native/call-deadlines';
import type { SignLaneHost } from '../native/sign-lane';
import { Pkcs11BindingError, Pkcs11Error } from './errors';
import type { Pkcs11Functions, Pkcs11FunctionName } from './functions';
import { SIGNATURE_ROOM } from './session';
import type { Pkcs11ThreadCallData } from './sign-thread-call';

/** The thread's device calls, by step. */
const STEPS: readonly Pkcs11FunctionName[] = ['C_SignInit', 'C_Sign'];

/**
 * C_SignInit and C_Sign with one mechanism on signing threads (../native/sign-lane.ts), with the
 * module's deadline and the output checks of a signature on the thread pool.
 */
export class Pkcs11SignLaneHost implements SignLaneHost {
  readonly threadCall: Pkcs11ThreadCallData;

  constructor(
    private readonly functions: Pkcs11Functions,
    mechanism: number,
  ) {
    this.threadCall = {
      kind: 'pkcs11',
      libPath: functions.loadedPath,
      room: SIGNATURE_ROOM,
      functionList: functions.functionListAddress,
      mechanism,
    };
  }

  get libPath(): string {
    return this.functions.path;
  }

  get deadlines(): CallDeadlines {
    return this.functions.deadlines;
  }

  /** The deadline covers both calls; C_Sign is the one a slow device is found in. */
  timeoutError(): Error {
    return this.functions.timeoutError('C_Sign');
  }

  /** As for a call on a closed session: the signer retries it elsewhere. */
  notMadeError(why: string): Error {
    return new Pkcs11BindingError('PKCS11_HANDLE_CLOSED', `C_SignInit not made: ${why}`, { fn: 'C_SignInit' });
  }

  threadFailedError(why: string): Error {
    return new Pkcs11BindingError('PKCS11_THREAD_FAILED', `C_Sign: ${why}`, {
      fn: 'C_Sign',
      libPath: this.functions.path,
    });
  }

  callError(step: number, code: number): Error {
    return new Pkcs11Error(STEPS[step] ?? 'C_Sign', code);
  }

  decode(output: Buffer, reportedLength: number): Uint8Array {
    if (!guardIntact(output) || reportedLength > capacityOf(output)) {
      throw new Pkcs11BindingError(
        'PKCS11_BAD_RESPONSE',
        guardIntact(output)
          ? `C_Sign returned a signature of ${reportedLength} bytes, more than the ${capacityOf(output)} a signing thread has room for`
          : 'C_Sign wrote past the room it was given',
        { fn: 'C_Sign' },
      );
    }
    return new Uint8Array(output.subarray(0, reportedLength));
  }
}
