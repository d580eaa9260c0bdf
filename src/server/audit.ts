import { open, type FileHandle } from 'node:fs/promises';
import type { ClientIdentity } from './client-identity';

/** One line of the audit trail: one sign request that got past authentication and validation. */
export interface AuditRecord {
  /** When the outcome was known (ISO 8601, UTC). */
  time: string;
  /** The request's id, also sent back in the X-Request-Id header. */
  requestId: string;
  client: ClientIdentity;
  /** The served key used (null: the software backend's key) or, when refused, the one asked for. */
  keyIndex: number | null;
  /** The 32-byte value signed, hex; null when the request was refused before it was known. */
  digest: string | null;
  /** 'ok', or the error code the client got (KEY_NOT_ALLOWED, QUEUE_FULL, SDR_HARDFAIL …). */
  result: string;
}

interface Waiting {
  text: string;
  done(error?: Error): void;
}

/** O_APPEND | O_CREAT | O_WRONLY; a new file is readable by its owner only. */
function openForAppend(path: string): Promise<FileHandle> {
  return open(path, 'a', 0o600);
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  // Each round writes at least one byte or throws, so this ends.
  for (let offset = 0; offset < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new Error('the audit log accepted no bytes');
    offset += bytesWritten;
  }
}

/** fdatasync; a file that cannot be synced (a pipe, a character device) keeps the completed write. */
async function sync(handle: FileHandle): Promise<void> {
  try {
    await handle.datasync();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  }
}

/**
 * The append-only audit trail (`--audit-log FILE`): one JSON line per record, written and
 * fdatasync'ed before `append` resolves. Lines that arrive while a write is in progress go out
 * together in the next write and sync (group commit), so concurrent signatures share the cost.
 * `reopen()` starts a new file at the same path after log rotation (SIGHUP).
 */
export class AuditLog {
  private waiting: Waiting[] = [];
  private draining: Promise<void> | undefined;
  /** The write and sync in progress (the only one that may still use a file being replaced). */
  private inProgress: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
  ) {}

  static async open(path: string): Promise<AuditLog> {
    return new AuditLog(path, await openForAppend(path));
  }

  /** Resolves once the line is on disk; rejects when it could not be written. */
  append(record: AuditRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ text: `${JSON.stringify(record)}\n`, done: (error) => (error ? reject(error) : resolve()) });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Stops once no line waits; each round takes every line waiting when it starts.
    while (this.waiting.length > 0) {
      const lines = this.waiting.splice(0);
      const handle = this.handle;
      this.inProgress = writeAll(handle, Buffer.from(lines.map((line) => line.text).join(''))).then(() => sync(handle));
      try {
        await this.inProgress;
        for (const line of lines) line.done();
      } catch (error) {
        for (const line of lines) line.done(error as Error);
      }
    }
    this.draining = undefined;
  }

  /**
   * Opens the path anew (after `mv audit.log audit.log.1`, the next lines go to a new audit.log)
   * and closes the old file once the write in progress on it has ended. If the path cannot be
   * opened, the old file stays in use and the error is thrown.
   */
  async reopen(): Promise<void> {
    if (this.closed) return;
    const next = await openForAppend(this.path);
    if (this.closed) {
      await next.close();
      return;
    }
    const old = this.handle;
    this.handle = next;
    await this.inProgress.catch(() => undefined);
    await old.close();
  }

  /** Waits for the lines already appended, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
    await this.handle.close();
  }
}
