// What the client accepts from the signing service. Nothing in a 200 answer is taken on trust:
// a key listing must be well formed, and every signature must verify against the signer's key.
import { bytesToHex, hexToBytes, isValidPublicKey, sm2VerifyDigest } from '../sm2';
import { badResponse, RemoteSignerError } from './remote-errors';

/** The key the client signs with, as chosen from the service's listing. */
export interface ChosenKey {
  keyIndex: number | null;
  publicKey: Uint8Array;
}

/** Which listed key to use: by index, by a pinned public key, or else the first one. */
export interface KeyChoice {
  keyIndex?: number;
  publicKey?: Uint8Array;
}

const HEX_128 = /^[0-9a-fA-F]{128}$/;

/** A listing entry: a key index (or null) and 128 hex characters of a point on the curve. */
function listedKey(url: string, entry: unknown): ChosenKey {
  const { keyIndex, publicKey } = (entry ?? {}) as { keyIndex?: unknown; publicKey?: unknown };
  if (keyIndex !== null && !(Number.isSafeInteger(keyIndex) && (keyIndex as number) >= 0)) {
    throw badResponse(url, 'a key listing with a malformed keyIndex');
  }
  if (typeof publicKey !== 'string' || !HEX_128.test(publicKey) || !isValidPublicKey(hexToBytes(publicKey))) {
    throw badResponse(url, 'a key listing with a malformed public key');
  }
  return { keyIndex: keyIndex as number | null, publicKey: hexToBytes(publicKey) };
}

/** The key to sign with from the answer to GET /v1/keys. */
export function chooseKey(url: string, listing: unknown, choice: KeyChoice): ChosenKey {
  if (!Array.isArray(listing)) throw badResponse(url, 'a key listing that is not a list');
  const keys = listing.map((entry) => listedKey(url, entry));
  const pinned = choice.publicKey === undefined ? undefined : bytesToHex(choice.publicKey);
  const byIndex = choice.keyIndex === undefined ? undefined : keys.find((key) => key.keyIndex === choice.keyIndex);
  if (choice.keyIndex !== undefined && byIndex === undefined) {
    throw new RemoteSignerError(
      404,
      'KEY_NOT_FOUND',
      `${url}: the signing service does not serve key index ${choice.keyIndex}`,
    );
  }
  const chosen = byIndex ?? (pinned === undefined ? keys[0] : keys.find((key) => bytesToHex(key.publicKey) === pinned));
  if (chosen === undefined) {
    if (pinned !== undefined) throw keyMismatch(url, 'does not serve the pinned public key');
    throw new RemoteSignerError(404, 'KEY_NOT_FOUND', `${url}: the signing service does not serve any key`);
  }
  if (pinned !== undefined && bytesToHex(chosen.publicKey) !== pinned) {
    throw keyMismatch(url, `serves another public key than the pinned one at key index ${choice.keyIndex}`);
  }
  return chosen;
}

function keyMismatch(url: string, what: string): RemoteSignerError {
  return new RemoteSignerError(200, 'KEY_MISMATCH', `${url}: the signing service ${what}`);
}

/** What a sign answer must match; `verify: false` skips the (costly) signature check itself. */
export interface ExpectedSignature {
  publicKey: Uint8Array;
  nodeId: string;
  digest: Uint8Array;
  verify: boolean;
}

/**
 * The signature in the answer to POST /v1/sign of `digest`, once it verifies against `publicKey`
 * (whose node ID, lowercase hex, is `nodeId`). A malformed answer is BAD_RESPONSE, another key
 * KEY_MISMATCH, a signature that does not verify BAD_SIGNATURE.
 */
export function verifiedSignature(url: string, answer: unknown, expected: ExpectedSignature): Uint8Array {
  const { signature, publicKey } = (answer ?? {}) as { signature?: unknown; publicKey?: unknown };
  if (typeof signature !== 'string' || !HEX_128.test(signature)) {
    throw badResponse(url, 'a sign answer without a signature of 128 hex characters');
  }
  // Behind a load balancer a misconfigured instance could hold another key: never pass its signature on.
  // (The service writes lower case; the strict comparison first spares a copy per signature.)
  if (publicKey !== expected.nodeId && (typeof publicKey !== 'string' || publicKey.toLowerCase() !== expected.nodeId)) {
    throw keyMismatch(url, 'answered with another public key');
  }
  const bytes = hexToBytes(signature);
  if (expected.verify && !sm2VerifyDigest(expected.publicKey, expected.digest, bytes)) {
    throw new RemoteSignerError(
      200,
      'BAD_SIGNATURE',
      `${url}: the signing service answered with a signature that does not verify against its public key`,
    );
  }
  return bytes;
}
