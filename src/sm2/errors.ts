// Key parsers wrap low-level TypeErrors ("truncated DER") into one user-facing message. Errors
// that already are the final message are remembered here so they pass through unwrapped, while
// staying plain TypeError instances for callers.
const finalErrors = new WeakSet<Error>();

export function finalTypeError(message: string): TypeError {
  const err = new TypeError(message);
  finalErrors.add(err);
  return err;
}

export function isFinal(err: unknown): boolean {
  return err instanceof Error && finalErrors.has(err);
}
