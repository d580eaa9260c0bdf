/** How the CLI reports an error: its exit code, and one line of text or one JSON object on stderr. */
import { ConfigError } from '../config';
import { Pkcs11BindingError, Pkcs11Error } from '../pkcs11';
import { SdfBindingError, SdfError } from '../sdf';
import { RemoteSignerError } from '../signer';
import { UsageError, VerificationFailed } from './command';

export const EXIT = { ok: 0, invalidSignature: 1, usage: 2, device: 3 } as const;

export interface ClassifiedError {
  exit: number;
  /** Stable and machine-readable: `USAGE`, `CONFIG_…`, `SDR_…`, `SDF_…`, `CKR_…`, `PKCS11_…`. */
  code: string;
  message: string;
}

/**
 * Exit code, code and message of an error. The messages are the errors' own, which never carry
 * a secret (the config and device layers keep passwords, PINs and tokens out of them).
 */
export function classify(error: unknown): ClassifiedError {
  const of = (exit: number, code: string, message: string) => ({ exit, code, message: oneLine(message) });
  if (error instanceof VerificationFailed) return of(EXIT.invalidSignature, error.code, error.message);
  if (error instanceof UsageError) return of(EXIT.usage, error.code, error.message);
  if (error instanceof ConfigError) return of(EXIT.usage, error.code, error.message);
  if (error instanceof SdfError) return of(EXIT.device, error.codeName, error.message);
  if (error instanceof Pkcs11Error) return of(EXIT.device, error.codeName, error.message);
  // A library that is not there is a configuration mistake; one that misbehaves is the device's.
  if (error instanceof SdfBindingError) {
    return of(error.code === 'SDF_LIBRARY_NOT_FOUND' ? EXIT.usage : EXIT.device, error.code, error.message);
  }
  if (error instanceof Pkcs11BindingError) {
    return of(error.code === 'PKCS11_LIBRARY_NOT_FOUND' ? EXIT.usage : EXIT.device, error.code, error.message);
  }
  if (error instanceof RemoteSignerError) return of(EXIT.device, error.code, error.message);
  if (error instanceof TypeError || error instanceof RangeError) return of(EXIT.usage, 'BAD_INPUT', error.message);
  return of(EXIT.device, 'ERROR', error instanceof Error ? error.message : String(error));
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/** `{"error":{"code":…,"message":…,"exitCode":…}}`, with `command` when one was running. */
export function errorJson(error: ClassifiedError, command?: string): string {
  const { code, message, exit } = error;
  return JSON.stringify({ error: { ...(command === undefined ? {} : { command }), code, message, exitCode: exit } });
}

/** `gmt0018 sign: CODE: message`, or `gmt0018: CODE: message` before a command is known. */
export function errorLine(error: ClassifiedError, command?: string): string {
  return `gmt0018${command === undefined ? '' : ` ${command}`}: ${error.code}: ${error.message}`;
}
