import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// The tables on SQLite. src/db/tables/postgres.ts holds the same tables for PostgreSQL, and
// src/db/schema.ts checks that both give the same rows. Times are integer milliseconds since
// the epoch (UTC); money is integer fen.

export const merchants = sqliteTable('merchants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
  /** The shop's OPEN rounds, kept by every rule that opens or closes one (src/db/rounds.ts: countOpened). */
  openRounds: integer('open_rounds').notNull().default(0),
});

export const afterSales = sqliteTable(
  'after_sales',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    merchantId: text('merchant_id').notNull().references(() => merchants.id),
    number: text('number').notNull(),
    orderNumber: text('order_number').notNull(),
    type: text('type', { enum: ['REFUND_ONLY', 'RETURN_AND_REFUND', 'EXCHANGE'] }).notNull(),
    reason: text('reason').notNull(),
    buyerClaim: text('buyer_claim').notNull(),
    amountCents: integer('amount_cents').notNull(),
    status: text('status', {
      enum: ['PLATFORM_INTERVENING', 'AWAITING_MERCHANT_EVIDENCE', 'EVIDENCE_SUBMITTED', 'RESOLVED'],
    }).notNull(),
    appliedAt: integer('applied_at').notNull(),
    createdAt: integer('created_at').notNull(),
    outcome: text('outcome', { enum: ['BUYER_FAVORED', 'MERCHANT_FAVORED'] }),
    decidedBy: text('decided_by', { enum: ['SYSTEM_TIMEOUT', 'PLATFORM'] }),
    decidedAt: integer('decided_at'),
    opinion: text('opinion'),
  },
  (t) => [
    uniqueIndex('after_sales_number_uq').on(t.number),
    index('after_sales_merchant_order_idx').on(t.merchantId, t.orderNumber),
  ],
);

export const evidenceRequests = sqliteTable(
  'evidence_requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    afterSaleId: integer('after_sale_id').notNull().references(() => afterSales.id),
    merchantId: text('merchant_id').notNull(),
    instructions: text('instructions').notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: integer('requested_at').notNull(),
    dueAt: integer('due_at').notNull(),
    status: text('status', { enum: ['OPEN', 'SUBMITTED', 'EXPIRED', 'CANCELLED'] }).notNull(),
    remindedAt: integer('reminded_at'),
    closedAt: integer('closed_at'),
  },
  (t) => [
    // The workbench: a shop's open rounds, nearest deadline first. Only open rounds, so an expiry
    // or a submission deletes one entry instead of moving it (one index page written, not two).
    index('evidence_requests_awaiting_idx').on(t.merchantId, t.dueAt, t.id).where(sql`status = 'OPEN'`),
    index('evidence_requests_after_sale_idx').on(t.afterSaleId, t.id),
    // The scheduler: only open rounds are ever looked at, so the indexes hold only those.
    index('evidence_requests_open_due_idx').on(t.dueAt).where(sql`status = 'OPEN'`),
    index('evidence_requests_unreminded_due_idx').on(t.dueAt).where(sql`status = 'OPEN' AND reminded_at IS NULL`),
  ],
);

export const evidenceSubmissions = sqliteTable(
  'evidence_submissions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    requestId: integer('request_id').notNull().references(() => evidenceRequests.id),
    afterSaleId: integer('after_sale_id').notNull().references(() => afterSales.id),
    merchantId: text('merchant_id').notNull(),
    explanation: text('explanation').notNull(),
    submittedBy: text('submitted_by').notNull(),
    submittedAt: integer('submitted_at').notNull(),
    idempotencyKey: text('idempotency_key'),
    /** SHA-256 over the round, the trimmed explanation and the files' names and hashes. */
    fingerprint: text('fingerprint').notNull(),
  },
  (t) => [
    uniqueIndex('evidence_submissions_request_uq').on(t.requestId),
    uniqueIndex('evidence_submissions_idempotency_uq').on(t.merchantId, t.idempotencyKey),
  ],
);

export const evidenceFiles = sqliteTable(
  'evidence_files',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The submission that holds the file; null while it is only staged in a draft. */
    submissionId: integer('submission_id').references(() => evidenceSubmissions.id),
    /** While staged: the round whose draft holds it (null once submitted, or for files sent with the submission). */
    stagedFor: integer('staged_for').references(() => evidenceRequests.id),
    merchantId: text('merchant_id').notNull(),
    position: integer('position').notNull(),
    fileName: text('file_name').notNull(),
    contentType: text('content_type').notNull(),
    byteSize: integer('byte_size').notNull(),
    sha256: text('sha256').notNull(),
  },
  (t) => [
    index('evidence_files_submission_idx').on(t.submissionId, t.position),
    index('evidence_files_staged_idx').on(t.stagedFor, t.position).where(sql`staged_for IS NOT NULL`),
    index('evidence_files_sha256_idx').on(t.sha256),
  ],
);

/** The merchant's unsent answer to an OPEN round; deleted when the round closes. Its files are evidence_files rows with staged_for set. */
// Keyed by a unique index, not a primary key: SQLite's integer primary key would be optional on insert.
export const evidenceDrafts = sqliteTable('evidence_drafts', {
  requestId: integer('request_id').notNull().references(() => evidenceRequests.id),
  merchantId: text('merchant_id').notNull(),
  explanation: text('explanation').notNull(),
  updatedAt: integer('updated_at').notNull(),
}, (t) => [uniqueIndex('evidence_drafts_request_uq').on(t.requestId)]);

/**
 * Unfinished resumable (tus) uploads into a round's draft. The bytes so far are in
 * DATA_DIR/uploads/<id>.part; `offset` counts only bytes already synced to that file.
 */
export const uploads = sqliteTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id').notNull(),
    requestId: integer('request_id').notNull().references(() => evidenceRequests.id),
    fileName: text('file_name').notNull(),
    length: integer('length').notNull(),
    offset: integer('offset').notNull(),
    /** Sniffed once the first bytes arrived; null before. */
    contentType: text('content_type'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('uploads_request_idx').on(t.requestId), index('uploads_expires_idx').on(t.expiresAt)],
);

export const afterSaleLogs = sqliteTable(
  'after_sale_logs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    afterSaleId: integer('after_sale_id').notNull().references(() => afterSales.id),
    at: integer('at').notNull(),
    actor: text('actor', { enum: ['BUYER', 'MERCHANT', 'PLATFORM', 'SYSTEM'] }).notNull(),
    actorId: text('actor_id'),
    action: text('action', {
      enum: [
        'APPLIED',
        'PLATFORM_INTERVENED',
        'EVIDENCE_REQUESTED',
        'EVIDENCE_REMINDER_SENT',
        'EVIDENCE_SUBMITTED',
        'EVIDENCE_EXPIRED',
        'EVIDENCE_REQUEST_CANCELLED',
        'ARBITRATION_RESOLVED',
      ],
    }).notNull(),
    summary: text('summary').notNull(),
  },
  (t) => [index('after_sale_logs_after_sale_idx').on(t.afterSaleId, t.id)],
);

export const messages = sqliteTable(
  'messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    merchantId: text('merchant_id').notNull(),
    afterSaleId: integer('after_sale_id').notNull().references(() => afterSales.id),
    kind: text('kind', {
      enum: ['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON', 'EVIDENCE_EXPIRED', 'ARBITRATION_RESOLVED'],
    }).notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    createdAt: integer('created_at').notNull(),
    readAt: integer('read_at'),
  },
  (t) => [
    index('messages_merchant_idx').on(t.merchantId, t.id),
    index('messages_unread_idx').on(t.merchantId, t.id).where(sql`read_at IS NULL`),
  ],
);
