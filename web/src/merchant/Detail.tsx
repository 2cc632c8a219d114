import { useQuery, useSubscription } from '@urql/preact';
import { useEffect, useState } from 'preact/hooks';
import { LogList, RoundItem } from '../lib/AfterSaleParts.tsx';
import { Both, countdown, deadlineFrom, formatTime, L, Named, TYPE_NAMES, useNow, yuan } from '../lib/text.tsx';
import { LogAddedSubscription } from '../lib/operations.ts';
import { AfterSaleDetailQuery } from './operations.ts';
import { SubmitForm } from './SubmitForm.tsx';

export function Detail({ id, token, liveTick, onBack }: { id: string; token: string; liveTick: number; onBack: () => void }) {
  const [result, reexecute] = useQuery({ query: AfterSaleDetailQuery, variables: { id } });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  // Any new log line (the platform's steps, the deadline job's) reads the detail again.
  const [live] = useSubscription({ query: LogAddedSubscription, variables: { afterSaleId: id } });
  useEffect(() => {
    if (live.data) refresh();
  }, [live.data]);
  useEffect(() => {
    if (liveTick) refresh();
  }, [liveTick]);
  const [receivedAt, setReceivedAt] = useState(Date.now());
  useEffect(() => setReceivedAt(Date.now()), [result.data]);
  const now = useNow();
  const sale = result.data?.afterSale;

  return (
    <section class="detail-pane" aria-labelledby="detail-title">
      <button type="button" class="quiet back" onClick={onBack}>
        ← <L zh="返回列表" en="Back to the list" />
      </button>
      {result.fetching && !sale && <p aria-busy="true">加载中 Loading…</p>}
      {result.data && !sale && (
        <p role="alert" class="error">
          <Both zh="找不到该售后单" en="This after-sale does not exist." />
        </p>
      )}
      {sale && (
        <>
          <div class="detail-head">
            <h2 id="detail-title">{sale.number}</h2>
            <span class={`status status-${sale.status}`}>
              <Named value={sale.status} />
            </span>
          </div>
          <dl class="facts">
            <dt><L zh="订单号" en="Order number" /></dt>
            <dd>{sale.orderNumber}</dd>
            <dt><L zh="类型" en="Type" /></dt>
            <dd><Named value={sale.type} table={TYPE_NAMES} /></dd>
            <dt><L zh="退款金额" en="Refund amount" /></dt>
            <dd>{yuan(sale.amountCents)}</dd>
            <dt><L zh="申请时间" en="Applied at" /></dt>
            <dd><time dateTime={sale.appliedAt}>{formatTime(sale.appliedAt)}</time></dd>
            <dt><L zh="原因" en="Reason" /></dt>
            <dd>{sale.reason}</dd>
          </dl>
          <section class="block" aria-labelledby="claim-title">
            <h3 id="claim-title"><L zh="买家诉求" en="Buyer's claim" /></h3>
            <p class="claim">{sale.buyerClaim}</p>
          </section>
          {sale.evidenceRequest?.status === 'OPEN' && (
            <section class="block current-round" aria-labelledby="round-title">
              <div class="round-head">
                <h3 id="round-title"><L zh="举证说明" en="Instructions" /></h3>
                <span class="deadline" role="timer" aria-label="Time left">
                  <L zh="剩余" en="Time left" />{' '}
                  <strong>{countdown(deadlineFrom(sale.evidenceRequest.secondsRemaining, receivedAt), now)}</strong>
                </span>
              </div>
              <p class="instructions">{sale.evidenceRequest.instructions}</p>
              <p class="hint">
                <L zh="截止" en="Due" /> <time dateTime={sale.evidenceRequest.dueAt}>{formatTime(sale.evidenceRequest.dueAt)}</time>
              </p>
              <SubmitForm key={sale.evidenceRequest.id} requestId={sale.evidenceRequest.id} token={token} onSubmitted={refresh} />
            </section>
          )}
          {sale.resolution && (
            <section class="block" aria-labelledby="resolution-title">
              <h3 id="resolution-title"><L zh="裁决结果" en="Ruling" /></h3>
              <p>
                <strong><Named value={sale.resolution.outcome} /></strong> · <Named value={sale.resolution.decidedBy} /> ·{' '}
                <time dateTime={sale.resolution.decidedAt}>{formatTime(sale.resolution.decidedAt)}</time>
              </p>
              {sale.resolution.opinion && <p>{sale.resolution.opinion}</p>}
            </section>
          )}
          <Rounds rounds={sale.evidenceRequests.filter((r) => r.id !== sale.evidenceRequest?.id || r.status !== 'OPEN')} />
          <section class="block" aria-labelledby="log-title">
            <h3 id="log-title"><L zh="售后日志" en="After-sale log" /></h3>
            <LogList logs={sale.logs.edges.map((e) => e.node)} />
          </section>
        </>
      )}
    </section>
  );
}

type Round = {
  id: string;
  status: string;
  instructions: string;
  requestedAt: string;
  submission: { explanation: string; submittedAt: string; files: { id: string; fileName: string; contentType: string; byteSize: number; url: string }[] } | null;
};

export function Rounds({ rounds }: { rounds: Round[] }) {
  if (rounds.length === 0) return null;
  return (
    <section class="block" aria-labelledby="rounds-title">
      <h3 id="rounds-title"><L zh="历次举证" en="Earlier rounds" /></h3>
      <ol class="rounds">
        {rounds.map((round) => (
          <RoundItem key={round.id} round={round}>
            {' '}
            <time dateTime={round.requestedAt}>{formatTime(round.requestedAt)}</time>
          </RoundItem>
        ))}
      </ol>
    </section>
  );
}
