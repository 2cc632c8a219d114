import { badInput } from './errors.ts';

// Cursors and page sizes of the API's lists (relay connections and the message box's `after:`).

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
