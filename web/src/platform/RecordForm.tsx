import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { AfterSaleType } from '../gql/graphql.ts';
import { isAuthError } from '../lib/client.ts';
import { L, TYPE_NAMES, yuan } from '../lib/text.tsx';
import { RecordAfterSaleMutation } from './operations.ts';

const EMPTY = { merchantId: '', number: '', orderNumber: '', type: 'REFUND_ONLY', reason: '', buyerClaim: '', amountCents: '' };
type Fields = typeof EMPTY;

/** recordAfterSale: an after-sale the buyer escalated to the platform. */
export function RecordForm({ onRecorded, onAuthError }: { onRecorded: (number: string) => void; onAuthError: () => void }) {
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string; field?: string } | null>(null);
  const [state, record] = useMutation(RecordAfterSaleMutation);
  const set = (name: keyof Fields) => (e: { currentTarget: { value: string } }) => setFields({ ...fields, [name]: e.currentTarget.value });
  const cents = Number(fields.amountCents);

  async function submit(event: Event) {
    event.preventDefault();
    const answer = await record({ input: { ...fields, type: fields.type as AfterSaleType, amountCents: Math.trunc(cents) } });
    if (isAuthError(answer.error)) return onAuthError();
    const result = answer.data?.recordAfterSale;
    if (!result) return setOutcome({ ok: false, text: answer.error?.message ?? 'failed' });
    if (result.__typename === 'RecordAfterSalePayload') {
      setOutcome({
        ok: true,
        text: result.created ? `已录入 Recorded ${result.afterSale.number}` : `已存在，未改动 Already recorded: ${result.afterSale.number}`,
      });
      onRecorded(result.afterSale.number);
      setFields(EMPTY);
    } else {
      setOutcome({ ok: false, text: result.message, field: result.__typename === 'InvalidInputError' ? result.field : undefined });
    }
  }

  const text = (name: keyof Fields, zh: string, en: string, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`record-${name}`}>
        <L zh={zh} en={en} />
      </label>
      <input id={`record-${name}`} aria-label={en} value={fields[name]} onInput={set(name)} required aria-invalid={outcome?.field === name} {...extra} />
    </div>
  );

  return (
    <section class="card" aria-labelledby="record-title">
      <h2 id="record-title">
        <L zh="录入售后单" en="Record an after-sale" />
      </h2>
      <form class="form-grid" aria-labelledby="record-title" onSubmit={submit}>
        {text('merchantId', '商家', 'Merchant', { placeholder: 'shop-1001', autoComplete: 'off' })}
        {text('number', '售后单号', 'Number', { placeholder: 'AS-…', autoComplete: 'off' })}
        {text('orderNumber', '订单号', 'Order number', { placeholder: 'OD-…', autoComplete: 'off' })}
        <div class="field">
          <label for="record-type">
            <L zh="类型" en="Type" />
          </label>
          <select id="record-type" aria-label="Type" value={fields.type} onChange={set('type')}>
            {Object.entries(TYPE_NAMES).map(([value, [zh, en]]) => (
              <option key={value} value={value}>
                {zh} {en}
              </option>
            ))}
          </select>
        </div>
        {text('reason', '原因', 'Reason')}
        <div class="field wide">
          <label for="record-buyerClaim">
            <L zh="买家诉求" en="Buyer claim" />
          </label>
          <textarea id="record-buyerClaim" aria-label="Buyer claim" rows={3} value={fields.buyerClaim} onInput={set('buyerClaim')} required aria-invalid={outcome?.field === 'buyerClaim'} />
        </div>
        <div class="field">
          <label for="record-amountCents">
            <L zh="退款金额（分）" en="Amount (cents)" />
          </label>
          <input
            id="record-amountCents"
            aria-label="Amount (cents)"
            type="number"
            min="0"
            step="1"
            inputMode="numeric"
            value={fields.amountCents}
            onInput={set('amountCents')}
            required
            aria-invalid={outcome?.field === 'amountCents'}
            aria-describedby="amount-preview"
          />
          <span id="amount-preview" class="hint">
            = {Number.isFinite(cents) ? yuan(cents) : '—'}
          </span>
        </div>
        {outcome && (
          <p role={outcome.ok ? 'status' : 'alert'} class={`wide ${outcome.ok ? 'success' : 'error'}`}>
            {outcome.text}
          </p>
        )}
        <button type="submit" class="primary wide" disabled={state.fetching}>
          <L zh="录入" en="Record after-sale" />
        </button>
      </form>
    </section>
  );
}
