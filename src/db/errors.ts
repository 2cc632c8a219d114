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
