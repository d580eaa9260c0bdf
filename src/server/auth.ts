import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Checks `Authorization: Bearer <token>` in constant time. Both sides are hashed first, so that
 * tokens of different lengths compare in the same time and timingSafeEqual never throws.
 */
export class BearerAuth {
  private readonly expected: Buffer;
  /** Names the token in the audit trail: the first 8 hex digits of its SHA-256, never the token. */
  readonly tokenId: string;

  constructor(token: string) {
    if (token === '' || /\s/.test(token)) throw new RangeError('the service token is empty or contains whitespace');
    this.expected = digest(token);
    this.tokenId = this.expected.toString('hex').slice(0, 8);
  }

  accepts(header: string | undefined): boolean {
    const match = header === undefined ? null : BEARER.exec(header);
    const given = digest(match?.[1] ?? '');
    // Compare even when the header is missing, so its absence takes the same time.
    return timingSafeEqual(given, this.expected) && match !== null;
  }

  toJSON(): string {
    return 'BearerAuth(<redacted>)';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
