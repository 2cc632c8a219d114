import type { AfterSaleStatus } from './schema.ts';

// Expected refusals. The rules throw them (rolling back the transaction they
// are in) and the GraphQL layer turns them into typed members of result unions.

export class NotFoundError extends Error {
  constructor(what = 'object') {
    super(`No ${what} with this id exists, or you may not see it`);
  }
}

export class InvalidInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class InvalidStateError extends Error {
  constructor(
    readonly status: AfterSaleStatus,
    message: string,
  ) {
    super(message);
  }
}

export class DeadlinePassedError extends Error {
  constructor(readonly dueAt: Date) {
    super(`The deadline passed at ${dueAt.toISOString()}; evidence can no longer be submitted for this round`);
  }
}

export class EvidenceRequestClosedError extends Error {
  constructor(readonly status: 'SUBMITTED' | 'EXPIRED' | 'CANCELLED' | 'OPEN') {
    super(`This evidence request is ${status.toLowerCase()} and takes no submission`);
  }
}

export type FileRejection = 'UNSUPPORTED_TYPE' | 'TOO_LARGE' | 'EMPTY';

export class FileRejectedError extends Error {
  constructor(
    readonly fileName: string,
    readonly reason: FileRejection,
    message: string,
  ) {
    super(message);
  }
}

export class IdempotencyConflictError extends Error {
  constructor(readonly idempotencyKey: string) {
    super('This idempotency key was already used with a different input; use a new key for a new submission');
  }
}

/** The draft holds MAX_FILES already (or would with these): InvalidInputError on `files`; a tus upload gets 409. */
export class DraftFullError extends InvalidInputError {
  constructor(maxFiles: number) {
    super('files', `A draft holds at most ${maxFiles} files; remove one first`);
  }
}

/** What the total limit leaves beside the draft's files is too little: InvalidInputError on `files`; a tus upload gets 413. */
export class OverTotalError extends InvalidInputError {
  constructor(maxTotalBytes: number) {
    super('files', `The files are over the ${maxTotalBytes} byte limit for one submission`);
  }
}
