// One check that an object the library hands out gives away no secret, whichever way a user might
// log or take it apart: util.inspect (also with customInspect: false, showHidden, getters and
// showProxy), JSON.stringify, String(), an error's stack, and a deep walk over every own property
// name and symbol (non-enumerable ones and getters included, up the prototype chain, into Map and
// Set entries) that also searches every byte array it reaches.
import { inspect, type InspectOptions } from 'node:util';

/** A secret as text (a token, a password) or bytes (a private key). */
export type Secret = string | Uint8Array;

const INSPECT_WAYS: InspectOptions[] = [
  { depth: Infinity },
  { depth: Infinity, showHidden: true, getters: true },
  { depth: Infinity, customInspect: false, showHidden: true, getters: true },
  { depth: Infinity, customInspect: false, showHidden: true, getters: true, showProxy: true },
];

/** Most objects one walk visits; a walk that reaches further has wandered into the runtime. */
const MAX_OBJECTS = 20_000;

function attempt(render: () => string | undefined): string {
  try {
    return render() ?? '';
  } catch (error) {
    return `(threw: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** The texts a user would see printing `value`. */
export function renderingsOf(value: unknown): string[] {
  const texts = INSPECT_WAYS.map((options) => attempt(() => inspect(value, options)));
  texts.push(attempt(() => JSON.stringify(value)));
  texts.push(attempt(() => String(value)));
  if (value instanceof Error) texts.push(attempt(() => value.stack));
  return texts;
}

function isBuiltinPrototype(proto: object): boolean {
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
  return typeof ctor === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor));
}

function bytesOf(value: object): Uint8Array | undefined {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    return new Uint8Array(value as ArrayBufferLike);
  }
  return undefined;
}

/** Every string and byte array reachable from `root` through properties, getters and entries. */
export function walkReachable(root: unknown): { strings: string[]; bytes: Uint8Array[] } {
  const strings: string[] = [];
  const bytes: Uint8Array[] = [];
  const seen = new Set<object>();
  const queue: unknown[] = [root];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if ((typeof value === 'object' || typeof value === 'function') && value !== null && !seen.has(value)) {
      seen.add(value);
      queue.push(value);
    }
  };
  const read = (holder: object, key: string | symbol, receiver: object): void => {
    const descriptor = Object.getOwnPropertyDescriptor(holder, key);
    if (descriptor === undefined) return;
    if ('value' in descriptor) visit(descriptor.value);
    else if (descriptor.get !== undefined) visit(attemptValue(() => descriptor.get!.call(receiver)));
    if (typeof key === 'string') strings.push(key);
  };
  visit(root);
  while (queue.length > 0) {
    const object = queue.shift() as object;
    if (seen.size > MAX_OBJECTS) throw new Error(`walkReachable: more than ${MAX_OBJECTS} objects`);
    const raw = bytesOf(object);
    if (raw !== undefined) {
      bytes.push(raw);
      continue; // its indices are its bytes, searched as such
    }
    if (object instanceof Map || object instanceof Set) {
      for (const entry of object.entries()) entry.forEach(visit);
    }
    for (let holder: object | null = object; holder !== null; holder = Object.getPrototypeOf(holder)) {
      if (holder !== object && isBuiltinPrototype(holder)) break;
      for (const key of Reflect.ownKeys(holder)) read(holder, key, object);
    }
  }
  return { strings, bytes };
}

function attemptValue(get: () => unknown): unknown {
  try {
    return get();
  } catch {
    return undefined;
  }
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** How a secret may show up in text: itself, or for bytes their hex and their decimal listing. */
function textForms(secret: Secret): { exact: string[]; lowerCase: string[]; compact: string[] } {
  if (typeof secret === 'string') return { exact: [secret], lowerCase: [], compact: [] };
  return {
    exact: [],
    lowerCase: [hexOf(secret)],
    // util.inspect lists bytes as numbers over several padded lines: compared without white space.
    compact: [Array.from(secret.subarray(0, 12)).join(',')],
  };
}

function bytesForm(secret: Secret): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
}

/** Where `secret` shows in `text`, or undefined. */
function foundIn(text: string, secret: Secret): string | undefined {
  const forms = textForms(secret);
  if (forms.exact.some((form) => text.includes(form))) return 'as text';
  const lower = text.toLowerCase();
  if (forms.lowerCase.some((form) => lower.includes(form))) return 'as hex';
  const compact = text.replace(/\s+/g, '');
  if (forms.compact.some((form) => compact.includes(form))) return 'as a list of byte values';
  return undefined;
}

/**
 * Where `value` gives away one of `secrets` (a list of findings; empty when it gives away
 * nothing). Secrets shorter than 4 characters or bytes would match by chance and are refused.
 */
export function secretLeaks(value: unknown, secrets: readonly Secret[]): string[] {
  for (const secret of secrets) {
    if (secret.length < 4) throw new RangeError('secretLeaks: a secret of fewer than 4 characters or bytes');
  }
  const findings: string[] = [];
  const reachable = walkReachable(value);
  const texts = [
    ...renderingsOf(value).map((text, i) => ({ text, where: `rendering ${i}` })),
    ...reachable.strings.map((text) => ({ text, where: 'a reachable string' })),
  ];
  secrets.forEach((secret, n) => {
    for (const { text, where } of texts) {
      const how = foundIn(text, secret);
      if (how !== undefined) findings.push(`secret #${n} ${how} in ${where}`);
    }
    const needle = bytesForm(secret);
    for (const raw of reachable.bytes) {
      if (Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(needle) >= 0) {
        findings.push(`secret #${n} in a reachable byte array`);
      }
    }
  });
  return findings;
}

/** Asserts that `value` gives away none of `secrets`, whichever way it is printed or walked. */
export function expectNoSecret(value: unknown, secrets: readonly Secret[]): void {
  expect(secretLeaks(value, secrets)).toEqual([]);
}
