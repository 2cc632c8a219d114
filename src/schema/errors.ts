import {
  DeadlinePassedError,
  EvidenceRequestClosedError,
  FileRejectedError,
  IdempotencyConflictError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
} from '../db/errors.ts';
import { GraphQLError } from 'graphql';
import { builder } from './builder.ts';
import { AfterSaleStatusEnum, EvidenceRequestStatusEnum, FileRejectionEnum } from './enums.ts';

/** A malformed argument that no rule sees (a page size, a cursor): a GraphQL error with code BAD_USER_INPUT. */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected refusal, returned as a member of a result union. Nothing was changed.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for a person to read.' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'No such object, or it belongs to another shop (the two are answered alike).',
  interfaces: [ErrorInterface],
});

builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  description: 'The input as a whole is refused, e.g. the explanation\'s length, no files or too many.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The input field at fault, e.g. `explanation` or `files`.' }),
  }),
});

builder.objectType(InvalidStateError, {
  name: 'InvalidStateError',
  description: 'The after-sale\'s status does not allow this step (e.g. it is already RESOLVED).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    status: t.expose('status', { type: AfterSaleStatusEnum, description: 'The after-sale\'s status now.' }),
  }),
});

builder.objectType(DeadlinePassedError, {
  name: 'DeadlinePassedError',
  description: 'The round is still OPEN but its dueAt has passed; the system is about to decide for the buyer.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    dueAt: t.expose('dueAt', { type: 'DateTime', description: 'The deadline that was missed.' }),
  }),
});

builder.objectType(EvidenceRequestClosedError, {
  name: 'EvidenceRequestClosedError',
  description: 'The round is no longer OPEN: already answered, cancelled or expired.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    status: t.expose('status', { type: EvidenceRequestStatusEnum, description: 'The round\'s status now.' }),
  }),
});

builder.objectType(FileRejectedError, {
  name: 'FileRejectedError',
  description: 'One file was refused; the whole submission was not stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fileName: t.exposeString('fileName', { description: 'The refused file\'s sanitised name.' }),
    reason: t.expose('reason', { type: FileRejectionEnum, description: 'Why it was refused.' }),
  }),
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key was used before with a different input. Use a fresh key for a new submission.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'The key that was reused.' }),
  }),
});
