// A stand-in for `gmt0018 serve` in the test process, on loopback: it lists keys and answers sign
// requests however a test tells it to (correctly by default, wrongly, never, or a byte at a time).
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex, hexToBytes, publicKeyFromPrivateKey, sm2SignDigest } from '../../src/sm2';

/** How the stand-in answers POST /v1/sign of `digest`; it may also leave `response` unanswered. */
export type SignBehaviour = (digest: Uint8Array, response: ServerResponse, body: string) => void;

export interface StandIn {
  readonly url: string;
  /** Bodies of the sign requests received, in order. */
  readonly bodies: string[];
  /** When each sign request arrived (performance.now()). */
  readonly arrivals: number[];
  /** Replace to change how sign requests are answered from now on. */
  behaviour: SignBehaviour;
  close(): Promise<void>;
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The sign answer of the real service: the signature and the signer's public key, in hex. */
export function signAnswer(privateKey: Uint8Array, digest: Uint8Array): { signature: string; publicKey: string } {
  return {
    signature: bytesToHex(sm2SignDigest(privateKey, digest)),
    publicKey: bytesToHex(publicKeyFromPrivateKey(privateKey)),
  };
}

/** Signs correctly with `privateKey`. */
export function signsWith(privateKey: Uint8Array): SignBehaviour {
  return (digest, response) => sendJson(response, 200, signAnswer(privateKey, digest));
}

/** Never answers: the request stays open until the client gives up or the stand-in closes. */
export const neverAnswers: SignBehaviour = () => undefined;

/**
 * A stand-in listing `keys` (default: `privateKey`'s, as the service lists key_index null) and
 * signing with `privateKey` until told otherwise.
 */
export async function standInService(privateKey: Uint8Array, keys?: unknown): Promise<StandIn> {
  const listing = keys ?? [{ keyIndex: null, publicKey: bytesToHex(publicKeyFromPrivateKey(privateKey)) }];
  const bodies: string[] = [];
  const arrivals: number[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/v1/keys') return sendJson(response, 200, listing);
      bodies.push(body);
      arrivals.push(performance.now());
      const digest = hexToBytes((JSON.parse(body) as { digest: string }).digest);
      standIn.behaviour(digest, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const standIn: StandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    arrivals,
    behaviour: signsWith(privateKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}
