import type { CallDeadlines } from '../native/call-deadlines';
import type { SignLaneHost } from '../native/sign-lane';
import { SGD } from './codes';
import { SdfBindingError, SdfError } from './errors';
import type { SdfLibrary } from './library';
import type { SdfThreadCallData } from './sign-thread-call';
import { decodeSignature, signatureStructSize } from './structs';

const FN = 'SDF_InternalSign_ECC';

/** SDF_InternalSign_ECC on signing threads (../native/sign-lane.ts), with the library's deadline and checks. */
export class SdfSignLaneHost implements SignLaneHost {
  readonly threadCall: SdfThreadCallData;
  private readonly symbol: string;

  constructor(private readonly library: SdfLibrary) {
    library.requireThreadCalls(FN);
    this.symbol = library.symbolOf(FN);
    this.threadCall = {
      kind: 'sdf',
      libPath: library.loadedPath,
      room: signatureStructSize(64),
      symbol: this.symbol,
      algId: library.options.internalSignWithAlgId ? SGD.SGD_SM2_1 : null,
    };
  }

  get libPath(): string {
    return this.library.path;
  }

  get deadlines(): CallDeadlines {
    return this.library.deadlines;
  }

  timeoutError(): Error {
    return this.library.timeoutError(FN);
  }

  /** SDF_HANDLE_CLOSED, as for a call on a closed session: the signer retries it. */
  notMadeError(why: string): Error {
    return new SdfBindingError('SDF_HANDLE_CLOSED', `${this.symbol} not made: ${why}`, { fn: FN });
  }

  threadFailedError(why: string): Error {
    return new SdfBindingError('SDF_THREAD_FAILED', `${this.symbol}: ${why}`, { fn: FN, libPath: this.library.path });
  }

  callError(_step: number, code: number): Error {
    return new SdfError(this.symbol, code);
  }

  decode(output: Buffer): Uint8Array {
    return decodeSignature(output, this.library.options.eccFieldBytes, this.symbol);
  }

  threadStarted(): void {
    this.library.threadStarted();
  }

  threadEnded(): void {
    this.library.threadEnded();
  }
}
