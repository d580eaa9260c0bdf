import type { Dispatcher } from 'undici';

/** Largest answer the client reads; the service's answers are a few hundred bytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The `code` of the error an exchange fails with when its deadline passes. */
export const ANSWER_TIMEOUT = 'ANSWER_TIMEOUT';

export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  headers: Readonly<Record<string, string>>;
  body: string | null;
  /** Deadline for the whole exchange: queueing, connecting, sending and the complete answer. */
  timeoutMs: number;
}

/**
 * One request and its whole answer as text, through undici's dispatch interface: it skips the
 * stream and promise layers of `request()`, which cost a third of the client's CPU per signature.
 * Rejects with undici's own errors (their `code` says what failed), when the answer is too big,
 * or (code ANSWER_TIMEOUT) when it is not complete within `timeoutMs`. undici's own timeouts count
 * from the last byte received, so an answer dripped a byte at a time would never trip them.
 */
export function exchange(dispatcher: Dispatcher, req: Exchange): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let status = 0;
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    let timeout: Error | undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      return true;
    };
    const timer = setTimeout(() => {
      timeout = Object.assign(new Error(`no complete answer within ${req.timeoutMs} ms`), { code: ANSWER_TIMEOUT });
      if (settle()) reject(timeout);
      // Not started yet (queued for a connection): aborted as soon as it starts.
      controller?.abort(timeout);
    }, req.timeoutMs);
    const handler: Dispatcher.DispatchHandler = {
      // undici tells this handler interface from its older one by onRequestStart.
      onRequestStart(started) {
        controller = started;
        if (timeout !== undefined) started.abort(timeout);
      },
      onResponseStart(_controller, statusCode) {
        status = statusCode;
      },
      onResponseData(active, chunk) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          active.abort(Object.assign(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`), { code: 'TOO_LARGE' }));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (!settle()) return;
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        resolve({ status, text: body.toString('utf8') });
      },
      onResponseError(_controller, error) {
        if (settle()) reject(error);
      },
    };
    try {
      dispatcher.dispatch(
        {
          method: req.method,
          path: req.path,
          headers: req.headers,
          body: req.body,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        },
        handler,
      );
    } catch (error) {
      if (settle()) reject(error);
    }
  });
}
