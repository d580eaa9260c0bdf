export interface PemBlock {
  label: string;
  headers: Record<string, string>;
  /** base64 body with whitespace removed, not yet decoded */
  body: string;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const LABEL = /^[A-Z0-9 ]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN ');
}

/**
 * The label of a `-----BEGIN LABEL-----` or `-----END LABEL-----` line whose marker starts at
 * `at`, and where the line's closing dashes end; null when the label is malformed.
 */
function labelAt(text: string, at: number, marker: string): { label: string; end: number } | null {
  const start = at + marker.length;
  // The closing dashes are the next ones: a label holds no '-'. The scan stops at the next
  // marker at the latest (it starts with dashes), so consecutive scans never overlap.
  const close = text.indexOf(DASHES, start);
  if (close < 0) return null;
  const label = text.slice(start, close);
  return LABEL.test(label) ? { label, end: close + DASHES.length } : null;
}

/** Past the `[ \t]*\r?\n?` that may follow a BEGIN line. */
function skipLineEnd(text: string, at: number): number {
  let i = at;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] === '\r') i++;
  if (text[i] === '\n') i++;
  return i;
}

/** The first well-formed END line at or after `from`, or null. */
function findEnd(text: string, from: number): { at: number; label: string; end: number } | null {
  for (let at = text.indexOf(END, from); at >= 0; at = text.indexOf(END, at + 1)) {
    const line = labelAt(text, at, END);
    if (line !== null) return { at, ...line };
  }
  return null;
}

function blockOf(label: string, content: string): PemBlock {
  const headers: Record<string, string> = {};
  let lines = content.split(/\r?\n/);
  // RFC 1421 headers ("Proc-Type: ...", "DEK-Info: ...") end at the first empty line.
  if (lines.length > 0 && /^[A-Za-z-]+:/.test(lines[0])) {
    let i = 0;
    for (; i < lines.length && lines[i].trim() !== ''; i++) {
      const colon = lines[i].indexOf(':');
      if (colon > 0) headers[lines[i].slice(0, colon).trim()] = lines[i].slice(colon + 1).trim();
    }
    lines = lines.slice(i);
  }
  return { label, headers, body: lines.join('').replace(/\s+/g, '') };
}

/**
 * All complete blocks in order. TypeError for a BEGIN without its END or a mismatched END.
 * One pass over the text: each BEGIN is matched with the first END after it, and the search
 * goes on after that END, so no part of the text is scanned twice (a regular expression with a
 * lazy body scanned to the end of the text for every BEGIN: quadratic on a flood of BEGIN lines).
 */
export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let consumed = 0;
  let at = text.indexOf(BEGIN);
  while (at >= 0) {
    const begin = labelAt(text, at, BEGIN);
    if (begin === null) {
      // Not a BEGIN line after all (lower case, no closing dashes): look for the next one.
      at = text.indexOf(BEGIN, at + 1);
      continue;
    }
    const end = findEnd(text, begin.end);
    if (end === null) throw new TypeError('PEM block has no END line');
    if (begin.label !== end.label) throw new TypeError(`PEM block "${begin.label}" ends with "${end.label}"`);
    blocks.push(blockOf(begin.label, text.slice(skipLineEnd(text, begin.end), end.at)));
    consumed = end.end;
    at = text.indexOf(BEGIN, consumed);
  }
  if (text.indexOf(BEGIN, consumed) !== -1) throw new TypeError('PEM block has no END line');
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
