import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

/** The object types whose global IDs the API takes as arguments. */
export type NodeTypename = 'AfterSale' | 'EvidenceRequest' | 'EvidenceFile' | 'Message';

/** A global ID as Pothos's `t.arg.globalID` hands it to a resolver. */
export interface DecodedId {
  typename: string;
  id: string;
}

/**
 * Decodes a global ID for Pothos (the builder's `relay.decodeGlobalID`): a malformed one names no type, instead of
 * failing the field. With `rowId`, that is the whole of the one answer for a bad id: it names no row, and each field
 * answers as for an unknown row (NotFoundError, null, 0, 404).
 */
export function decodeId(globalId: string): DecodedId {
  try {
    return decodeGlobalID(globalId);
  } catch {
    return { typename: '', id: '' };
  }
}

/** A node's row id from the id part of its global ID (the nodes' `parse`): 0, which names no row, unless a positive integer. */
export function rowNumber(id: string): number {
  const n = Number(id);
  return /^[1-9]\d*$/.test(id) && Number.isSafeInteger(n) ? n : 0;
}

/** The row a decoded ID names if it is a `typename`'s; otherwise 0, which names no row (ids start at 1). */
export function rowId({ typename: found, id }: DecodedId, typename: NodeTypename): number {
  return found === typename ? rowNumber(id) : 0;
}

export function globalId(typename: NodeTypename, id: number): string {
  return encodeGlobalID(typename, id);
}
