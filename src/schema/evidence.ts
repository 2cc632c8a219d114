import { secondsRemaining } from '../db/rounds.ts';
import type { EvidenceFileRow, EvidenceRequestRow, EvidenceSubmissionRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { rowNumber } from './ids.ts';
import { AfterSaleRef } from './after-sale.ts';
import { EvidenceRequestStatusEnum } from './enums.ts';
import type { Context } from '../context.ts';
import { PREVIEW_WIDTH } from '../storage/previews.ts';

const expiries = new WeakMap<Context, { at: number; expires: number }>();

/**
 * One expiry per response, so a file's url and thumbnailUrl (and every file's)
 * end together. A socket's context outlives one response, so a remembered
 * expiry older than a second is made afresh.
 */
function linkExpiry(ctx: Context): number {
  const now = ctx.services.clock.now();
  let memo = expiries.get(ctx);
  if (!memo || now - memo.at > 1000) {
    memo = { at: now, expires: now + ctx.services.config.fileUrlTtlMs };
    expiries.set(ctx, memo);
  }
  return memo.expires;
}

export const EvidenceRequestRef = builder.objectRef<EvidenceRequestRow>('EvidenceRequest');
export const EvidenceSubmissionRef = builder.objectRef<EvidenceSubmissionRow>('EvidenceSubmission');
export const EvidenceFileRef = builder.objectRef<EvidenceFileRow>('EvidenceFile');

builder.node(EvidenceRequestRef, {
  description: 'One evidence round: the platform asks, the merchant has until dueAt to answer once.',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: (id, ctx) => ctx.loaders.evidenceRequest.load(id),
  fields: (t) => ({
    afterSale: t.field({
      type: AfterSaleRef,
      description: 'The after-sale the round belongs to.',
      resolve: async (row, _args, ctx) => (await ctx.loaders.afterSale.load(row.afterSaleId))!,
    }),
    instructions: t.exposeString('instructions', { description: '举证说明: what the platform wants to see.' }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime', description: 'When the platform asked.' }),
    dueAt: t.expose('dueAt', { type: 'DateTime', description: 'The deadline: a submission must commit strictly before it.' }),
    secondsRemaining: t.int({
      description: 'Whole seconds left until dueAt; 0 once past, and 0 for a round that is not OPEN.',
      resolve: (row, _args, ctx) => secondsRemaining(row, ctx.services.clock.now()),
    }),
    status: t.expose('status', { type: EvidenceRequestStatusEnum, description: 'Where the round stands.' }),
    remindedAt: t.expose('remindedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the due-soon reminder went out; null if it has not (yet).',
    }),
    submission: t.field({
      type: EvidenceSubmissionRef,
      nullable: true,
      description: 'The merchant\'s answer, once SUBMITTED; null otherwise.',
      resolve: (row, _args, ctx) => ctx.loaders.submissionOfRequest.load(row.id),
    }),
  }),
});

builder.node(EvidenceSubmissionRef, {
  description: 'The merchant\'s answer to one round: its explanation and its files.',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: (id, ctx) => ctx.loaders.submission.load(id),
  fields: (t) => ({
    explanation: t.exposeString('explanation', { description: 'Why the merchant refuses the buyer\'s claim, trimmed.' }),
    submittedAt: t.expose('submittedAt', { type: 'DateTime', description: 'When it was committed.' }),
    submittedBy: t.exposeString('submittedBy', { description: 'The staff member who submitted (the token\'s subject).' }),
    evidenceRequest: t.field({
      type: EvidenceRequestRef,
      description: 'The round it answers.',
      resolve: async (row, _args, ctx) => (await ctx.loaders.evidenceRequest.load(row.requestId))!,
    }),
    files: t.field({
      type: [EvidenceFileRef],
      description: 'The evidence files, in the order they were uploaded.',
      resolve: (row, _args, ctx) => ctx.loaders.filesOfSubmission.load(row.id),
    }),
  }),
});

builder.node(EvidenceFileRef, {
  description: 'One evidence file, stored by its SHA-256 and served through a signed link.',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: (id, ctx) => ctx.loaders.file.load(id),
  fields: (t) => ({
    fileName: t.exposeString('fileName', { description: 'The original name, sanitised: no path, no control or bidi characters, at most 255 characters.' }),
    contentType: t.exposeString('contentType', { description: 'Sniffed from the bytes, never the client\'s claim.' }),
    byteSize: t.exposeInt('byteSize', { description: 'Size in bytes.' }),
    sha256: t.exposeString('sha256', { description: 'SHA-256 of the bytes, lowercase hex.' }),
    url: t.string({
      description: 'A signed link that returns the exact bytes (GET and HEAD, byte ranges, ETag = the quoted SHA-256); absolute, and good for FILE_URL_TTL (15 minutes by default) from this response.',
      resolve: (row, _args, ctx) => {
        const name = encodeURIComponent(row.fileName);
        return `${ctx.baseUrl}/files/${row.id}/${name}?${ctx.services.auth.signFileLink(row.id, linkExpiry(ctx))}`;
      },
    }),
    thumbnailUrl: t.string({
      nullable: true,
      description: `A signed link, living as long as url, to a WebP preview at most ${PREVIEW_WIDTH} pixels wide with no EXIF or GPS data, made on its first request. Null where there is none: a PDF, a video, a HEIC photo, or an image that could not be decoded.`,
      resolve: (row, _args, ctx) => {
        if (!ctx.services.previews.available(row.sha256, row.contentType)) return null;
        return `${ctx.baseUrl}/previews/${row.id}/${PREVIEW_WIDTH}?${ctx.services.auth.signPreviewLink(row.id, PREVIEW_WIDTH, linkExpiry(ctx))}`;
      },
    }),
  }),
});
