/** The longest user ID SM2 allows: its bit length must fit in ENTL's 16 bits. */
export const MAX_USER_ID_BYTES = 8191;

/** The longest signature any accepted form takes: FISCO's r‖s‖publicKey, 128 bytes. */
const MAX_SIGNATURE_BYTES = 128;
/** An uncompressed public key, 04‖x‖y. */
const MAX_PUBLIC_KEY_BYTES = 65;

const HEX_PATTERN = '^(0[xX])?([0-9a-fA-F]{2})*$';

/** A hex string of at most `maxBytes` bytes, 0x-prefixed or not (so the bound is 2 + 2 × maxBytes characters). */
function hex(maxBytes: number): object {
  return { type: 'string', pattern: HEX_PATTERN, maxLength: 2 + 2 * maxBytes };
}

const KEY_INDEX = { type: 'integer', minimum: 0, maximum: 0x7fffffff };
/** Characters; its UTF-8 length is checked once parsed (JSON Schema cannot count bytes). */
const USER_ID = { type: 'string', maxLength: MAX_USER_ID_BYTES };

/**
 * The request bodies, checked by Fastify before a handler runs: every field typed and bounded,
 * unknown fields refused. Rules between fields (exactly one of message and digest …) are in
 * requests.ts. `maxBody` bounds the message: it cannot be longer than the body anyway.
 */
export function bodySchemas(maxBody: number): { sign: object; verify: object } {
  const message = { type: 'string', pattern: HEX_PATTERN, maxLength: maxBody };
  return {
    sign: {
      type: 'object',
      additionalProperties: false,
      properties: {
        message,
        digest: { type: 'string', pattern: HEX_PATTERN, minLength: 64, maxLength: 66 },
        keyIndex: KEY_INDEX,
        userId: USER_ID,
        userIdHex: hex(MAX_USER_ID_BYTES),
        format: { type: 'string', enum: ['rs', 'der', 'fisco'] },
      },
    },
    verify: {
      type: 'object',
      additionalProperties: false,
      required: ['message', 'signature'],
      properties: {
        message,
        signature: hex(MAX_SIGNATURE_BYTES),
        publicKey: hex(MAX_PUBLIC_KEY_BYTES),
        keyIndex: KEY_INDEX,
        userId: USER_ID,
        userIdHex: hex(MAX_USER_ID_BYTES),
      },
    },
  };
}

/**
 * Ajv as the service wants it: no type coercion ("1" is not a key index) and unknown fields
 * refused, not silently dropped (Fastify's defaults do both).
 */
export const AJV_OPTIONS = { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } };

/** One Ajv error, as Fastify passes it on in `error.validation`. */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

function bad(code: string, message: string): { code: string; message: string } {
  return { code, message };
}

/** The code and message of the 400 that answers a request's first schema error. */
export function schemaError(issue: SchemaIssue): { code: string; message: string } {
  const field = issue.instancePath.replace(/^\//, '');
  const { params } = issue;
  switch (issue.keyword) {
    case 'additionalProperties':
      return bad('UNKNOWN_FIELD', `unknown field ${JSON.stringify(String(params.additionalProperty).slice(0, 64))}`);
    case 'required':
      return bad('BAD_REQUEST', `${String(params.missingProperty)} is required`);
    case 'pattern':
      return bad('BAD_HEX', `${field} is not an even number of hex digits`);
    case 'minLength':
    case 'maxLength':
      if (field === 'digest') return bad('BAD_LENGTH', 'digest must be 32 bytes (64 hex digits)');
      return bad('FIELD_TOO_LONG', `${field} is over ${String(params.limit)} characters`);
    case 'type':
      return bad('BAD_REQUEST', field === '' ? 'expected a JSON object' : `${field} must be a ${String(params.type)}`);
    case 'enum':
      return bad('BAD_REQUEST', `${field} must be one of ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'minimum':
    case 'maximum':
      return bad('BAD_REQUEST', `${field} must be an integer in 0..2147483647`);
    default:
      return bad('BAD_REQUEST', 'the request does not match the API');
  }
}
