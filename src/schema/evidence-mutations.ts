import {
  DeadlinePassedError,
  EvidenceRequestClosedError,
  FileRejectedError,
  IdempotencyConflictError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
} from '../db/errors.ts';
import { cancelEvidenceRequest, requestEvidence, resolveArbitration } from '../cases/rounds.ts';
import type { AfterSaleRow, EvidenceRequestRow, EvidenceSubmissionRow } from '../db/schema.ts';
import { submitEvidence } from '../cases/submit-evidence.ts';
import { AfterSaleRef } from './after-sale.ts';
import { builder } from './builder.ts';
import { OutcomeEnum } from './enums.ts';
import { EvidenceRequestRef, EvidenceSubmissionRef } from './evidence.ts';
import { rowId } from './ids.ts';
import { actorOf, merchantOf } from './viewer.ts';

const SubmitEvidenceInput = builder.inputType('SubmitEvidenceInput', {
  description: 'The merchant\'s answer to one evidence round.',
  fields: (t) => ({
    evidenceRequestId: t.globalID({ required: true, description: 'The OPEN round being answered.' }),
    explanation: t.string({ required: true, description: 'Why the merchant refuses the buyer\'s claim: 2 to 2,000 characters after trimming.' }),
    files: t.field({
      type: ['Upload'],
      required: false,
      description: 'New files sent with the submission, before the staged ones. With stagedFileIds, 1 to 9 files in all: JPEG, PNG, WebP, GIF, HEIC or PDF up to 10 MiB each; MP4 or QuickTime up to 200 MiB each; 500 MiB in all. More than 9 in all is InvalidInputError on `files`.',
    }),
    stagedFileIds: t.globalIDList({
      required: false,
      description: 'Staged EvidenceFile ids of this round\'s draft, submitted after `files` in this order. An id that is not in this round\'s draft (another round\'s, another shop\'s, unknown, or given twice) is InvalidInputError on `stagedFileIds`.',
    }),
    idempotencyKey: t.string({
      description: 'Any unique string per attempt (e.g. a UUID), kept per shop. A retry with the same key and input gets the first answer, the same submission, even after the round closed (its `afterSale` shows the after-sale as it is now); with other input, IdempotencyConflictError. Only accepted submissions are remembered.',
    }),
  }),
});

const SubmitEvidencePayload = builder
  .objectRef<{ submission: EvidenceSubmissionRow; afterSale: AfterSaleRow }>('SubmitEvidencePayload')
  .implement({
    description: 'The accepted submission.',
    fields: (t) => ({
      submission: t.field({ type: EvidenceSubmissionRef, description: 'The stored submission with its files.', resolve: (p) => p.submission }),
      afterSale: t.field({ type: AfterSaleRef, description: 'The after-sale, now EVIDENCE_SUBMITTED.', resolve: (p) => p.afterSale }),
    }),
  });

const RoundPayload = (name: string, description: string) =>
  builder.objectRef<{ round: EvidenceRequestRow }>(name).implement({
    description,
    fields: (t) => ({
      evidenceRequest: t.field({ type: EvidenceRequestRef, description: 'The round as it is now.', resolve: (p) => p.round }),
    }),
  });

const RequestEvidencePayload = RoundPayload('RequestEvidencePayload', 'The round that was opened.');
const CancelEvidenceRequestPayload = RoundPayload('CancelEvidenceRequestPayload', 'The round that was cancelled.');

const ResolveArbitrationPayload = builder.objectRef<{ afterSale: AfterSaleRow }>('ResolveArbitrationPayload').implement({
  description: 'The decided after-sale.',
  fields: (t) => ({
    afterSale: t.field({ type: AfterSaleRef, description: 'The after-sale, now RESOLVED.', resolve: (p) => p.afterSale }),
  }),
});

const RequestEvidenceInput = builder.inputType('RequestEvidenceInput', {
  description: 'Opens an evidence round.',
  fields: (t) => ({
    afterSaleId: t.globalID({ required: true, description: 'An after-sale in PLATFORM_INTERVENING or EVIDENCE_SUBMITTED.' }),
    instructions: t.string({ required: true, description: '举证说明 for the merchant: 1 to 2,000 characters after trimming.' }),
  }),
});

const ResolveArbitrationInput = builder.inputType('ResolveArbitrationInput', {
  description: 'The platform\'s ruling.',
  fields: (t) => ({
    afterSaleId: t.globalID({ required: true, description: 'An after-sale that is not yet RESOLVED.' }),
    outcome: t.field({ type: OutcomeEnum, required: true, description: 'Whom the ruling favours.' }),
    opinion: t.string({ description: 'Reasoning shown to the merchant, up to 2,000 characters.' }),
  }),
});

const union = (name: string, description: string) => ({ name, description });

builder.mutationFields((t) => ({
  submitEvidence: t.field({
    type: SubmitEvidencePayload,
    authScopes: { merchant: true },
    description: 'Merchant: answers an OPEN round before its dueAt with an explanation and files: new ones (a GraphQL multipart request) and/or files staged in the round\'s draft. A refused submission stores nothing; an accepted one deletes the draft.',
    errors: {
      types: [NotFoundError, DeadlinePassedError, EvidenceRequestClosedError, FileRejectedError, InvalidInputError, IdempotencyConflictError],
      union: union('SubmitEvidenceResult', 'The accepted submission, or why it was refused.'),
    },
    args: { input: t.arg({ type: SubmitEvidenceInput, required: true, description: 'The answer.' }) },
    resolve: async (_root, { input }, ctx) => {
      const { db, store, config, clock } = ctx.services;
      return submitEvidence(
        { db, store, limits: config.limits, clock },
        {
          merchantId: merchantOf(ctx),
          staffId: ctx.viewer!.sub,
          requestId: rowId(input.evidenceRequestId, 'EvidenceRequest'),
          explanation: input.explanation,
          files: input.files ?? [],
          stagedFileIds: (input.stagedFileIds ?? []).map((id) => rowId(id, 'EvidenceFile')),
          idempotencyKey: input.idempotencyKey ?? null,
        },
      );
    },
  }),
  requestEvidence: t.field({
    type: RequestEvidencePayload,
    authScopes: { platform: true },
    description: 'Platform: opens an evidence round, due EVIDENCE_WINDOW (24h) from now, and tells the merchant.',
    errors: { types: [NotFoundError, InvalidInputError, InvalidStateError], union: union('RequestEvidenceResult', 'The new round, or why not.') },
    args: { input: t.arg({ type: RequestEvidenceInput, required: true, description: 'The request.' }) },
    resolve: (_root, { input }, ctx) => {
      const { db, config, clock } = ctx.services;
      return requestEvidence(
        db,
        { afterSaleId: rowId(input.afterSaleId, 'AfterSale'), instructions: input.instructions },
        actorOf(ctx),
        clock.now(),
        { evidenceWindowMs: config.evidenceWindowMs, reminderLeadMs: config.reminderLeadMs, maxInstructions: config.limits.maxInstructions },
      );
    },
  }),
  cancelEvidenceRequest: t.field({
    type: CancelEvidenceRequestPayload,
    authScopes: { platform: true },
    description: 'Platform: withdraws an OPEN round; the after-sale goes back to PLATFORM_INTERVENING. No message is sent.',
    errors: { types: [NotFoundError, InvalidInputError, InvalidStateError], union: union('CancelEvidenceRequestResult', 'The cancelled round, or why not.') },
    args: { evidenceRequestId: t.arg.globalID({ required: true, description: 'The round to withdraw.' }) },
    resolve: (_root, args, ctx) => {
      const { db, clock } = ctx.services;
      return cancelEvidenceRequest(db, rowId(args.evidenceRequestId, 'EvidenceRequest'), actorOf(ctx), clock.now());
    },
  }),
  resolveArbitration: t.field({
    type: ResolveArbitrationPayload,
    authScopes: { platform: true },
    description: 'Platform: rules on the after-sale (an OPEN round is cancelled first) and tells the merchant. Final.',
    errors: { types: [NotFoundError, InvalidInputError, InvalidStateError], union: union('ResolveArbitrationResult', 'The decided after-sale, or why not.') },
    args: { input: t.arg({ type: ResolveArbitrationInput, required: true, description: 'The ruling.' }) },
    resolve: (_root, { input }, ctx) => {
      const { db, clock } = ctx.services;
      return resolveArbitration(
        db,
        { afterSaleId: rowId(input.afterSaleId, 'AfterSale'), outcome: input.outcome, opinion: input.opinion },
        actorOf(ctx),
        clock.now(),
      );
    },
  }),
}));
