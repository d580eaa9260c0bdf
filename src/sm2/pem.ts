export interface PemBlock {
  label: string;
  headers: Record<string, string>;
  /** base64 body with whitespace removed, not yet decoded */
  body: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[ \t]*\r?\n?([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN ');
}

/** All complete blocks in order. TypeError for a BEGIN without its END or a mismatched END. */
export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let consumed = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] !== m[3]) throw new TypeError(`PEM block "${m[1]}" ends with "${m[3]}"`);
    const headers: Record<string, string> = {};
    let lines = m[2].split(/\r?\n/);
    // RFC 1421 headers ("Proc-Type: ...", "DEK-Info: ...") end at the first empty line.
    if (lines.length > 0 && /^[A-Za-z-]+:/.test(lines[0])) {
      let i = 0;
      for (; i < lines.length && lines[i].trim() !== ''; i++) {
        const colon = lines[i].indexOf(':');
        if (colon > 0) headers[lines[i].slice(0, colon).trim()] = lines[i].slice(colon + 1).trim();
      }
      lines = lines.slice(i);
    }
    blocks.push({ label: m[1], headers, body: lines.join('').replace(/\s+/g, '') });
    consumed = (m.index ?? 0) + m[0].length;
  }
  if (text.indexOf('-----BEGIN ', consumed) !== -1) throw new TypeError('PEM block has no END line');
  return blocks;
}

export function decodePemBody(block: PemBlock): Uint8Array {
  const b64 = block.body;
  if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
    throw new TypeError(`PEM "${block.label}" body is not valid base64`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
