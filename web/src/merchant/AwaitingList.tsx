import { useQuery } from '@urql/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AwaitingEvidenceFilter } from '../gql/graphql.ts';
import { isAuthError } from '../lib/client.ts';
import { Both, countdown, deadlineFrom, L, Named, TYPE_NAMES, useNow, yuan } from '../lib/text.tsx';
import { AwaitingEvidenceQuery } from './operations.ts';

const PAGE = 20;

/** Debounced, so typing a number asks once, not once a key. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

const startOfDay = (date: string) => (date ? new Date(`${date}T00:00:00`).toISOString() : undefined);
const endOfDay = (date: string) => (date ? new Date(`${date}T23:59:59.999`).toISOString() : undefined);

export function AwaitingList(props: { selected: string | null; onOpen: (id: string) => void; liveTick: number; onAuthError: () => void }) {
  const [search, setSearch] = useState('');
  const [type, setType] = useState('');
  const [due, setDue] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [first, setFirst] = useState(PAGE);
  const settledSearch = useDebounced(search.trim(), 250);
  const filter = useMemo<AwaitingEvidenceFilter>(
    () => ({
      search: settledSearch || undefined,
      type: (type || undefined) as AwaitingEvidenceFilter['type'],
      dueWithinHours: due ? Number(due) : undefined,
      appliedAfter: startOfDay(from),
      appliedBefore: endOfDay(to),
    }),
    [settledSearch, type, due, from, to],
  );
  const [result, reexecute] = useQuery({ query: AwaitingEvidenceQuery, variables: { first, filter } });
  const [receivedAt, setReceivedAt] = useState(Date.now());
  useEffect(() => setReceivedAt(Date.now()), [result.data]);
  useEffect(() => {
    if (props.liveTick) reexecute({ requestPolicy: 'network-only' });
  }, [props.liveTick]);
  useEffect(() => {
    if (isAuthError(result.error)) props.onAuthError();
  }, [result.error]);
  const now = useNow();
  const conn = result.data?.awaitingEvidence;

  return (
    <section class="list-pane" aria-labelledby="list-title">
      <div class="pane-head">
        <h2 id="list-title">
          <L zh="待商家举证" en="Awaiting evidence" />
        </h2>
        {conn && <span class="count">{conn.totalCount}</span>}
      </div>
      <form class="filters" role="search" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label class="field wide">
          <span>
            <L zh="搜索售后单号 / 订单号" en="Search" />
          </span>
          <input type="search" aria-label="Search" value={search} placeholder="AS-… / OD-…" onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>
            <L zh="类型" en="Type" />
          </span>
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">全部 All</option>
            {Object.entries(TYPE_NAMES).map(([value, [zh, en]]) => (
              <option key={value} value={value}>
                {zh} {en}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>
            <L zh="剩余时间内（小时）" en="Due within hours" />
          </span>
          <input type="number" min="0" step="1" inputMode="numeric" value={due} onInput={(e) => setDue(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>
            <L zh="申请起" en="Applied from" />
          </span>
          <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>
            <L zh="申请止" en="Applied until" />
          </span>
          <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
      </form>
      {result.error && !isAuthError(result.error) && (
        <p role="alert" class="error">
          <Both zh="加载失败" en={`Could not load: ${result.error.message}`} />
        </p>
      )}
      <ul class="rows" aria-labelledby="list-title" aria-busy={result.fetching}>
        {conn?.edges.map(({ node }) => {
          const round = node.evidenceRequest;
          const deadline = round ? deadlineFrom(round.secondsRemaining, receivedAt) : now;
          const left = deadline - now;
          return (
            <li key={node.id} class={`row ${props.selected === node.id ? 'selected' : ''} ${left < 12 * 3600_000 ? 'urgent' : ''}`}>
              <button type="button" class="row-number" aria-current={props.selected === node.id ? 'true' : undefined} onClick={() => props.onOpen(node.id)}>
                {node.number}
              </button>
              <span class="row-countdown" role="timer" aria-label={`Time left for ${node.number}`}>
                {countdown(deadline, now)}
              </span>
              <span class="row-meta">
                <Named value={node.type} table={TYPE_NAMES} /> · {yuan(node.amountCents)} · {node.orderNumber}
              </span>
              <span class="row-reason">{node.reason}</span>
            </li>
          );
        })}
      </ul>
      {conn && conn.edges.length === 0 && (
        <p class="empty">
          <Both zh="没有待举证的售后单" en="Nothing is awaiting evidence." />
        </p>
      )}
      {conn?.pageInfo.hasNextPage && first < 100 && (
        <button type="button" class="quiet more" onClick={() => setFirst(Math.min(100, first + PAGE))}>
          <L zh="加载更多" en="Load more" />
        </button>
      )}
    </section>
  );
}
