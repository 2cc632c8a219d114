import { removeStagedFile, saveDraft } from '../db/drafts.ts';
import { DeadlinePassedError, EvidenceRequestClosedError, FileRejectedError, InvalidInputError, NotFoundError } from '../db/errors.ts';
import type { EvidenceDraftRow } from '../db/schema.ts';
import { stageEvidenceFiles } from '../cases/stage-evidence.ts';
import { builder } from './builder.ts';
import { EvidenceFileRef, EvidenceRequestRef } from './evidence.ts';
import { rowId } from './ids.ts';
import { merchantOf } from './viewer.ts';

export const EvidenceDraftRef = builder.objectRef<EvidenceDraftRow>('EvidenceDraft');

EvidenceDraftRef.implement({
  description: 'The merchant\'s unsent answer to an OPEN round, built over time and from any device of the shop. Deleted, with its unsubmitted staged files, once the round closes.',
  fields: (t) => ({
    explanation: t.exposeString('explanation', { description: 'The explanation as last saved, trimmed; "" until saved.' }),
    files: t.field({
      type: [EvidenceFileRef],
      description: 'Staged files, in the order they were staged. Pass their ids as `stagedFileIds` to submitEvidence.',
      resolve: (row, _args, ctx) => ctx.loaders.stagedFilesOfRequest.load(row.requestId),
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the explanation or the files last changed.' }),
  }),
});

builder.objectField(EvidenceRequestRef, 'draft', (t) =>
  t.field({
    type: EvidenceDraftRef,
    nullable: true,
    description: 'The shop\'s unsent answer to this OPEN round: null until it first saves or stages something, null once the round is closed, and always null to the platform.',
    resolve: (row, _args, ctx) => (ctx.viewer?.role === 'merchant' && row.status === 'OPEN' ? ctx.loaders.draftOfRequest.load(row.id) : null),
  }),
);

const DraftPayload = (name: string, description: string) =>
  builder.objectRef<EvidenceDraftRow>(name).implement({
    description,
    fields: (t) => ({ draft: t.field({ type: EvidenceDraftRef, description: 'The draft as it is now.', resolve: (draft) => draft }) }),
  });

const SaveEvidenceDraftPayload = DraftPayload('SaveEvidenceDraftPayload', 'The draft with the saved explanation.');
const StageEvidenceFilesPayload = DraftPayload('StageEvidenceFilesPayload', 'The draft with the new files staged after its others.');
const RemoveStagedFilePayload = DraftPayload('RemoveStagedFilePayload', 'The draft without the removed file.');

const SaveEvidenceDraftInput = builder.inputType('SaveEvidenceDraftInput', {
  description: 'The explanation so far, for an OPEN round.',
  fields: (t) => ({
    evidenceRequestId: t.globalID({ required: true, description: 'The OPEN round the draft answers.' }),
    explanation: t.string({ required: true, description: 'Up to MAX_EXPLANATION (2,000) characters after trimming; may be empty while it is a draft. Control and bidi-override characters are refused.' }),
  }),
});

const StageEvidenceFilesInput = builder.inputType('StageEvidenceFilesInput', {
  description: 'Files to stage in an OPEN round\'s draft (a GraphQL multipart request).',
  fields: (t) => ({
    evidenceRequestId: t.globalID({ required: true, description: 'The OPEN round the draft answers.' }),
    files: t.field({
      type: ['Upload'],
      required: true,
      description: 'Files judged as a submission\'s are (sniffed, hashed, per-kind limits); the draft holds at most MAX_FILES (9) and, with what it holds, at most MAX_TOTAL_BYTES. One refused file stages none of them.',
    }),
  }),
});

const errors = [NotFoundError, EvidenceRequestClosedError, DeadlinePassedError, InvalidInputError];
const union = (name: string, description: string) => ({ name, description });

builder.mutationFields((t) => ({
  saveEvidenceDraft: t.field({
    type: SaveEvidenceDraftPayload,
    authScopes: { merchant: true },
    description: 'Merchant: saves the explanation of an OPEN round\'s draft (creating the draft), for any device of the shop to read and finish.',
    errors: { types: errors, union: union('SaveEvidenceDraftResult', 'The saved draft, or why not.') },
    args: { input: t.arg({ type: SaveEvidenceDraftInput, required: true, description: 'The draft\'s explanation.' }) },
    resolve: (_root, { input }, ctx) => {
      const { db, config, clock } = ctx.services;
      return saveDraft(db, { merchantId: merchantOf(ctx), requestId: rowId(input.evidenceRequestId, 'EvidenceRequest'), explanation: input.explanation }, config.limits, clock);
    },
  }),
  stageEvidenceFiles: t.field({
    type: StageEvidenceFilesPayload,
    authScopes: { merchant: true },
    description: 'Merchant: uploads files into an OPEN round\'s draft (a GraphQL multipart request; large files can go over tus at /uploads instead). All or none of the batch is staged.',
    errors: { types: [...errors, FileRejectedError], union: union('StageEvidenceFilesResult', 'The draft with its new files, or why not.') },
    args: { input: t.arg({ type: StageEvidenceFilesInput, required: true, description: 'The round and the files.' }) },
    resolve: (_root, { input }, ctx) => {
      const { db, store, config, clock } = ctx.services;
      return stageEvidenceFiles(
        { db, store, limits: config.limits, clock },
        { merchantId: merchantOf(ctx), requestId: rowId(input.evidenceRequestId, 'EvidenceRequest'), files: input.files },
      );
    },
  }),
  removeStagedFile: t.field({
    type: RemoveStagedFilePayload,
    authScopes: { merchant: true },
    description: 'Merchant: takes a staged file out of its OPEN round\'s draft; its bytes go unless another file refers to them.',
    errors: { types: errors, union: union('RemoveStagedFileResult', 'The draft without the file, or why not.') },
    args: { id: t.arg.globalID({ required: true, description: 'The staged EvidenceFile.' }) },
    resolve: (_root, args, ctx) => {
      const { db, clock } = ctx.services;
      return removeStagedFile(db, merchantOf(ctx), rowId(args.id, 'EvidenceFile'), clock);
    },
  }),
}));
