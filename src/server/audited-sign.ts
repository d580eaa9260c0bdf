import { bytesToHex } from '../sm2';
import type { AuditLog, AuditRecord } from './audit';
import type { ClientIdentity } from './client-identity';
import { ApiError, toApiError } from './errors';
import type { SignRequest } from './requests';
import type { SignAnswer, SigningService } from './service';

/**
 * Signs and records the outcome in the audit trail before anything is answered: a signature
 * whose line could not be written is not returned (503 AUDIT_FAILED; the client may try another
 * instance). Refusals after validation (KEY_NOT_ALLOWED, QUEUE_FULL, device errors) get a line too.
 */
export async function signWithAudit(
  service: SigningService,
  audit: AuditLog,
  request: SignRequest,
  who: { requestId: string; client: ClientIdentity },
): Promise<SignAnswer> {
  const record: AuditRecord = {
    time: '',
    requestId: who.requestId,
    client: who.client,
    keyIndex: request.keyIndex ?? null,
    digest: null,
    result: 'ok',
  };
  let answer: SignAnswer | undefined;
  let failure: unknown;
  try {
    const prepared = service.prepare(request);
    record.keyIndex = prepared.key.keyIndex;
    record.digest = bytesToHex(prepared.digest);
    answer = await service.signPrepared(prepared, request.format);
  } catch (error) {
    failure = error;
    record.result = toApiError(error).code;
  }
  record.time = new Date().toISOString();
  try {
    await audit.append(record);
  } catch {
    throw new ApiError(503, 'AUDIT_FAILED', 'the audit log could not be written, so no signature is returned');
  }
  if (answer === undefined) throw failure;
  return answer;
}
