import { ConfigError } from '../config';
import { SdfBindingError, SdfError } from '../sdf';
import { SignerClosedError } from '../signer';
import { schemaError, type SchemaIssue } from './schemas';

/** An error the service answers with: HTTP status plus `{ error: { code, message } }`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Fastify's own errors (body parsing, limits) that the service passes on with their status. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BAD_JSON', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_JSON', message: 'the body is empty (expected JSON)' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', message: 'the body is over the size limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'expected Content-Type: application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Content-Length does not match the body',
  },
};

/** True when the error means the signing device (or the signer in front of it) is unavailable. */
export function isDeviceError(error: unknown): error is SdfError | SdfBindingError | SignerClosedError {
  return error instanceof SdfError || error instanceof SdfBindingError || error instanceof SignerClosedError;
}

/** The SDR code name (SDR_HARDFAIL …) or binding code of a device error. */
export function deviceErrorCode(error: SdfError | SdfBindingError | SignerClosedError): string {
  return error instanceof SdfError ? error.codeName : error.code;
}

/**
 * Maps anything thrown while serving a request to a status and a body that is safe to send: known
 * errors keep their code and message (which never hold a secret); anything else becomes a bare 500.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isDeviceError(error)) {
    return new ApiError(503, deviceErrorCode(error), `signing device unavailable: ${oneLine(error.message)}`);
  }
  if (error instanceof ConfigError) return new ApiError(500, error.code, oneLine(error.message));
  const validation = (error as { validation?: SchemaIssue[] } | null)?.validation;
  if (Array.isArray(validation) && validation[0] !== undefined) {
    const { code, message } = schemaError(validation[0]);
    return new ApiError(400, code, message);
  }
  const fastifyCode = (error as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_CODES[fastifyCode] !== undefined) {
    const known = FASTIFY_CODES[fastifyCode];
    return new ApiError(known.status, known.code, known.message);
  }
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, 'BAD_REQUEST', 'the request could not be read');
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

export function errorBody(error: ApiError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
