import type { LogRef } from './logs.ts';
import type { MessageRef } from './messages.ts';
import type { AfterSaleLogRow, MessageRow } from './schema.ts';

/**
 * What a committed write produced that others may want to hear about. The
 * rules fill it inside their transaction; the caller publishes it after the
 * commit (through src/events.ts), so nothing is announced that did not happen.
 */
export interface Changes {
  logs: AfterSaleLogRow[];
  messages: MessageRow[];
  /**
   * A request opened or closed a round: the scheduler's next instant may move.
   * The scheduler's own expiries and reminders leave it unset: its timer is
   * re-armed when a sweep ends, and a timer that fires early finds nothing.
   */
  roundsChanged: boolean;
  /**
   * Bytes a closed round's draft no longer needs: the hashes of its deleted
   * staged files and the ids of its dropped uploads. Removed after the commit,
   * best effort (a hash only where no row refers to it any more).
   */
  discarded: { hashes: string[]; uploadIds: string[] };
}

export function noChanges(): Changes {
  return { logs: [], messages: [], roundsChanged: false, discarded: { hashes: [], uploadIds: [] } };
}

export function mergeChanges(into: Changes, from: Changes): Changes {
  into.logs.push(...from.logs);
  into.messages.push(...from.messages);
  into.roundsChanged ||= from.roundsChanged;
  into.discarded.hashes.push(...from.discarded.hashes);
  into.discarded.uploadIds.push(...from.discarded.uploadIds);
  return into;
}

/** What a commit is announced by: its new rows by reference, as they cross to another thread (src/jobs/backlog.ts). */
export type Committed = Pick<Changes, 'roundsChanged' | 'discarded'> & { logs: readonly LogRef[]; messages: readonly MessageRef[] };

/** `changes` by reference only: a catch-up batch's 1,500 rows are not copied whole to the thread that announces them. */
export function committed(changes: Changes): Committed {
  return {
    logs: changes.logs.map(({ id, afterSaleId }) => ({ id, afterSaleId })),
    messages: changes.messages.map(({ id, merchantId }) => ({ id, merchantId })),
    roundsChanged: changes.roundsChanged,
    discarded: changes.discarded,
  };
}
