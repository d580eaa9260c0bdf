import type { TLSSocket } from 'node:tls';

/** Who made a request, as the audit trail records it: never the token itself. */
export interface ClientIdentity {
  /** First 8 hex digits of SHA-256 of the bearer token the request was accepted with. */
  tokenId?: string;
  /** The verified client certificate's subject (mutual TLS), e.g. `CN=node0,O=bank`. */
  subject?: string;
  /** The peer's address. */
  address?: string;
}

type Subject = Record<string, string | string[] | undefined>;

function formatSubject(subject: Subject): string {
  return Object.entries(subject)
    .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(',');
}

/** The identity of the client on `socket`, for a request accepted with the token `tokenId` names. */
export function clientIdentity(
  socket: TLSSocket | { remoteAddress?: string },
  tokenId: string | undefined,
): ClientIdentity {
  const out: ClientIdentity = {};
  if (tokenId !== undefined) out.tokenId = tokenId;
  // Only a certificate the handshake verified against --client-ca names anyone.
  if ('authorized' in socket && socket.authorized) {
    const subject = socket.getPeerCertificate().subject as Subject | undefined;
    if (subject !== undefined) out.subject = formatSubject(subject);
  }
  if (socket.remoteAddress !== undefined) out.address = socket.remoteAddress;
  return out;
}
