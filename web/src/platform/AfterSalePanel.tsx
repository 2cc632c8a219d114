import { useClient, useMutation, useQuery, useSubscription } from '@urql/preact';
import { useEffect, useState } from 'preact/hooks';
import type { Outcome } from '../gql/graphql.ts';
import { LogList, RoundItem } from '../lib/AfterSaleParts.tsx';
import { Both, formatTime, L, Named, TYPE_NAMES, yuan } from '../lib/text.tsx';
import { LogAddedSubscription } from '../lib/operations.ts';
import { CancelEvidenceRequestMutation, FindAfterSaleQuery, RequestEvidenceMutation, ResolveArbitrationMutation } from './operations.ts';

type Said = { ok: boolean; text: string } | null;

/**
 * One after-sale, chosen by its number: its claim, every round with its
 * evidence, its log, and the platform's steps on it.
 */
export function AfterSalePanel({ number, onNumber }: { number: string; onNumber: (n: string) => void }) {
  const client = useClient();
  const [typed, setTyped] = useState(number);
  useEffect(() => setTyped(number), [number]);
  const [settled, setSettled] = useState(number.trim());
  useEffect(() => {
    const timer = setTimeout(() => setSettled(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);
  const [result, reexecute] = useQuery({ query: FindAfterSaleQuery, variables: { number: settled }, pause: !settled, requestPolicy: 'network-only' });
  const sale = settled ? result.data?.afterSaleByNumber : undefined;
  // The merchant's submission, the deadline job: every new log line reads the after-sale again.
  const [live] = useSubscription({ query: LogAddedSubscription, variables: { afterSaleId: sale?.id ?? '' }, pause: !sale });
  useEffect(() => {
    if (live.data) reexecute({ requestPolicy: 'network-only' });
  }, [live.data]);
  const [said, setSaid] = useState<Said>(null);
  const [instructions, setInstructions] = useState('');
  const [outcome, setOutcome] = useState<Outcome>('BUYER_FAVORED');
  const [opinion, setOpinion] = useState('');
  const [, requestEvidence] = useMutation(RequestEvidenceMutation);
  const [, cancelRequest] = useMutation(CancelEvidenceRequestMutation);
  const [, resolve] = useMutation(ResolveArbitrationMutation);

  /** The after-sale the number names now, read afresh: the forms act on what is typed, even before the lookup settles. */
  async function current() {
    const answer = await client.query(FindAfterSaleQuery, { number: typed.trim() }, { requestPolicy: 'network-only' }).toPromise();
    const found = answer.data?.afterSaleByNumber;
    if (!found) setSaid({ ok: false, text: `找不到售后单 No after-sale with the number "${typed.trim()}"` });
    return found ?? null;
  }

  function report(result: { __typename?: string; message?: string } | undefined, error: { message: string } | undefined, done: string) {
    if (!result) setSaid({ ok: false, text: error?.message ?? 'failed' });
    else if ('message' in result && result.message) setSaid({ ok: false, text: result.message });
    else setSaid({ ok: true, text: done });
    onNumber(typed.trim());
    setSettled(typed.trim());
    reexecute({ requestPolicy: 'network-only' });
  }

  return (
    <section class="card" aria-labelledby="sale-title">
      <h2 id="sale-title">
        <L zh="售后单与仲裁" en="After-sale and ruling" />
      </h2>
      <div class="field">
        <label for="sale-number">
          <L zh="售后单号" en="After-sale number" />
        </label>
        <input id="sale-number" aria-label="After-sale number" type="search" autoComplete="off" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="AS-…" />
      </div>
      {said && (
        <p role={said.ok ? 'status' : 'alert'} class={said.ok ? 'success' : 'error'}>
          {said.text}
        </p>
      )}
      {settled && result.data && !sale && (
        <p class="empty">
          <Both zh="没有这个售后单" en="No after-sale has this number." />
        </p>
      )}
      {sale && (
        <div class="sale">
          <div class="detail-head">
            <h3>{sale.number}</h3>
            <span class={`status status-${sale.status}`}>
              <Named value={sale.status} />
            </span>
          </div>
          <p class="hint">
            {sale.orderNumber} · <Named value={sale.type} table={TYPE_NAMES} /> · {yuan(sale.amountCents)} · {sale.reason}
          </p>
          <p class="claim">{sale.buyerClaim}</p>
          {sale.resolution && (
            <p>
              <strong><Named value={sale.resolution.outcome} /></strong> · <Named value={sale.resolution.decidedBy} /> · {formatTime(sale.resolution.decidedAt)}
              {sale.resolution.opinion && ` · ${sale.resolution.opinion}`}
            </p>
          )}
          {sale.evidenceRequests.length > 0 && (
            <section aria-labelledby="p-rounds-title">
              <h4 id="p-rounds-title"><L zh="举证轮次" en="Evidence rounds" /></h4>
              <ol class="rounds">
                {sale.evidenceRequests.map((round) => (
                  <RoundItem key={round.id} round={round}>
                    {' '}
                    {formatTime(round.requestedAt)} → {formatTime(round.dueAt)}
                  </RoundItem>
                ))}
              </ol>
            </section>
          )}
          <section aria-labelledby="p-log-title">
            <h4 id="p-log-title"><L zh="售后日志" en="After-sale log" /></h4>
            <LogList logs={sale.logs.edges.map((e) => e.node)} />
          </section>
        </div>
      )}
      <form
        class="action"
        aria-labelledby="request-title"
        onSubmit={async (e) => {
          e.preventDefault();
          const target = await current();
          if (!target) return;
          const answer = await requestEvidence({ input: { afterSaleId: target.id, instructions } });
          report(answer.data?.requestEvidence, answer.error, `已要求举证 Evidence requested for ${target.number}`);
          if (answer.data?.requestEvidence.__typename === 'RequestEvidencePayload') setInstructions('');
        }}
      >
        <h3 id="request-title"><L zh="要求商家举证" en="Ask the merchant for evidence" /></h3>
        <label for="instructions">
          <L zh="举证说明" en="Instructions" />
        </label>
        <textarea id="instructions" aria-label="Instructions" rows={3} value={instructions} onInput={(e) => setInstructions(e.currentTarget.value)} required />
        <div class="buttons">
          <button type="submit" class="primary">
            <L zh="要求举证" en="Request evidence" />
          </button>
          <button
            type="button"
            disabled={!!sale && sale.evidenceRequest?.status !== 'OPEN'}
            onClick={async () => {
              const target = await current();
              if (!target) return;
              if (target.evidenceRequest?.status !== 'OPEN') return setSaid({ ok: false, text: `没有进行中的举证 ${target.number} has no open round` });
              const answer = await cancelRequest({ id: target.evidenceRequest.id });
              report(answer.data?.cancelEvidenceRequest, answer.error, `已撤销举证 The round of ${target.number} was cancelled`);
            }}
          >
            <L zh="撤销本轮举证" en="Cancel evidence request" />
          </button>
        </div>
      </form>
      <form
        class="action"
        aria-labelledby="resolve-title"
        onSubmit={async (e) => {
          e.preventDefault();
          const target = await current();
          if (!target) return;
          const answer = await resolve({ input: { afterSaleId: target.id, outcome, opinion: opinion.trim() || null } });
          report(answer.data?.resolveArbitration, answer.error, `已裁决 ${target.number} was resolved`);
        }}
      >
        <h3 id="resolve-title"><L zh="仲裁裁决" en="Rule on it" /></h3>
        <label for="outcome">
          <L zh="裁决结果" en="Outcome" />
        </label>
        <select id="outcome" aria-label="Outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value as Outcome)}>
          <option value="BUYER_FAVORED">支持买家 Buyer favored</option>
          <option value="MERCHANT_FAVORED">支持商家 Merchant favored</option>
        </select>
        <label for="opinion">
          <L zh="裁决意见" en="Opinion" />
        </label>
        <textarea id="opinion" aria-label="Opinion" rows={2} value={opinion} onInput={(e) => setOpinion(e.currentTarget.value)} />
        <div class="buttons">
          <button type="submit" class="primary">
            <L zh="裁决" en="Resolve arbitration" />
          </button>
        </div>
      </form>
    </section>
  );
}
