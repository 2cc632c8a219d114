import * as postgres from './tables/postgres.ts';
import * as sqlite from './tables/sqlite.ts';

/**
 * The tables the rules are written against. Each rule is written once, typed
 * with PostgreSQL's query builder and tables (the stricter of the two: no
 * synchronous `.get()`/`.run()`, every statement awaited), and the SQLite
 * database hands it its own tables under the same names. The checks below
 * make the type checker prove that both dialects give the same rows, column
 * for column; the whole test suite on both databases proves the rest.
 */
export type Tables = typeof postgres;
export const postgresTables: Tables = postgres;
export const sqliteTables = sqlite as unknown as Tables;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RowsMatch = { [K in keyof Tables]: Same<Tables[K]['$inferSelect'], (typeof sqlite)[K]['$inferSelect']> };
type InsertsMatch = { [K in keyof Tables]: Same<Tables[K]['$inferInsert'], (typeof sqlite)[K]['$inferInsert']> };
type AllTrue<T> = T[keyof T] extends true ? true : never;
// A column added to one dialect's tables and not the other's fails here, at compile time.
export const tablesMatch: [AllTrue<RowsMatch>, AllTrue<InsertsMatch>, Same<keyof Tables, keyof typeof sqlite>] = [true, true, true];

export type AfterSaleRow = Tables['afterSales']['$inferSelect'];
export type EvidenceRequestRow = Tables['evidenceRequests']['$inferSelect'];
export type EvidenceSubmissionRow = Tables['evidenceSubmissions']['$inferSelect'];
export type EvidenceFileRow = Tables['evidenceFiles']['$inferSelect'];
export type AfterSaleLogRow = Tables['afterSaleLogs']['$inferSelect'];
export type MessageRow = Tables['messages']['$inferSelect'];
export type AfterSaleType = AfterSaleRow['type'];
export type AfterSaleStatus = AfterSaleRow['status'];
export type LogAction = AfterSaleLogRow['action'];
export type LogActor = AfterSaleLogRow['actor'];
export type MessageKind = MessageRow['kind'];
export type Outcome = NonNullable<AfterSaleRow['outcome']>;
export type EvidenceDraftRow = Tables['evidenceDrafts']['$inferSelect'];
export type UploadRow = Tables['uploads']['$inferSelect'];
