/** A signer was used after `close()`. */
export class SignerClosedError extends Error {
  override readonly name = 'SignerClosedError';
  readonly code = 'SIGNER_CLOSED';

  constructor(backend: string) {
    super(`the ${backend} signer is closed`);
  }
}
