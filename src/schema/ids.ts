import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { NotFoundError } from '../db/errors.ts';

/** The row id behind a global ID of `typename`; a malformed or foreign ID is simply "not found". */
export function localId(globalId: string, typename: string): number {
  try {
    const { typename: found, id } = decodeGlobalID(globalId);
    const n = Number(id);
    if (found === typename && Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // fall through: a malformed ID names nothing
  }
  throw new NotFoundError(typename);
}

/** Like localId, but 0 (which names no row) for a malformed or foreign ID, where the rule itself answers. */
export function localIdOrZero(globalId: string, typename: string): number {
  try {
    return localId(globalId, typename);
  } catch {
    return 0;
  }
}

export function globalId(typename: string, id: number): string {
  return encodeGlobalID(typename, id);
}

export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(parts.join(':')).toString('base64url');
}

/** Decodes a cursor made by encodeCursor with `count` numeric parts after `prefix`. */
export function decodeCursor(cursor: string, prefix: string, count: number): number[] {
  const parts = Buffer.from(cursor, 'base64url').toString().split(':');
  const numbers = parts.slice(1).map(Number);
  if (parts[0] !== prefix || numbers.length !== count || !numbers.every(Number.isSafeInteger)) {
    throw badInput('The cursor is not one this list gave out');
  }
  return numbers;
}

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/** Page size: 20 by default, at most 100. */
export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`);
  return first;
}

/** A relay connection's edges and pageInfo for one page of a forward-only list. */
export function connectionPage<T>(edges: { cursor: string; node: T }[], hasNextPage: boolean, hasPreviousPage: boolean) {
  return {
    edges,
    pageInfo: { hasNextPage, hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
