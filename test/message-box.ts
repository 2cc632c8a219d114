import { expect } from 'vitest';
import type { TestServer } from './helpers.ts';

export const MESSAGE_BOX = `subscription Box($after: String) {
  messageBox(after: $after) {
    cursor
    unreadCount
    message { id kind afterSale { id status resolution { outcome decidedBy } } }
  }
}`;

export type BoxEvent = { messageBox: { cursor: string; unreadCount: number; message: { id: string; kind: string; afterSale: any } } };

/** The platform rules for the merchant: an ARBITRATION_RESOLVED message. */
export async function resolveCase(target: TestServer, afterSaleId: string): Promise<void> {
  const res = await target.gql(
    await target.platformToken(),
    `mutation($input: ResolveArbitrationInput!) { resolveArbitration(input: $input) { __typename } }`,
    { input: { afterSaleId, outcome: 'MERCHANT_FAVORED' } },
  );
  expect(res.data?.resolveArbitration.__typename).toBe('ResolveArbitrationPayload');
}

export interface Listed {
  id: string;
  kind: string;
  cursor: string;
}

/** The shop's message box as the `messages` query shows it, oldest first. */
export async function messageList(target: TestServer, token: string): Promise<Listed[]> {
  const all: Listed[] = [];
  let after: string | null = null;
  for (;;) {
    const res: any = await target.gql(
      token,
      `query($after: String) { messages(first: 100, after: $after) { edges { cursor node { id kind } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    all.push(...res.data.messages.edges.map((e: any) => ({ id: e.node.id, kind: e.node.kind, cursor: e.cursor })));
    if (!res.data.messages.pageInfo.hasNextPage) return all.reverse();
    after = res.data.messages.pageInfo.endCursor;
  }
}

let batch = 0;

/**
 * `count` ARBITRATION_RESOLVED messages for the shop, made the way the
 * platform makes them: record an after-sale, then rule on it. Twenty to a
 * request, as aliases, so a backlog of hundreds takes a few dozen requests.
 * `claimLength` sets the buyer's claim, for tests that want large events.
 */
export async function createMessages(target: TestServer, merchantId: string, count: number, claimLength = 10): Promise<void> {
  const platform = await target.platformToken();
  const claim = 'x'.repeat(claimLength);
  for (let done = 0; done < count; done += 20) {
    const n = Math.min(20, count - done);
    const prefix = `BULK${process.pid}-${++batch}-`;
    const records = Array.from(
      { length: n },
      (_, i) =>
        `r${i}: recordAfterSale(input: { merchantId: "${merchantId}", number: "${prefix}${i}", orderNumber: "OD-${prefix}${i}", type: REFUND_ONLY, reason: "Damaged", buyerClaim: "${claim}", amountCents: 100 }) { ... on RecordAfterSalePayload { afterSale { id } } }`,
    );
    const recorded = await target.gql(platform, `mutation { ${records.join('\n')} }`);
    const ids = Array.from({ length: n }, (_, i) => recorded.data![`r${i}`].afterSale.id as string);
    const rulings = ids.map((id, i) => `s${i}: resolveArbitration(input: { afterSaleId: "${id}", outcome: BUYER_FAVORED }) { __typename }`);
    const ruled = await target.gql(platform, `mutation { ${rulings.join('\n')} }`);
    expect(Object.values(ruled.data!).every((r: any) => r.__typename === 'ResolveArbitrationPayload')).toBe(true);
  }
}

/** A messageBox query whose events carry the buyer's claim twenty times: about 40 KB each with 2,000-character claims. */
export function bulkyMessageBox(): string {
  const claims = Array.from({ length: 20 }, (_, i) => `c${i}: buyerClaim`).join(' ');
  return `subscription($after: String) { messageBox(after: $after) { cursor unreadCount message { id afterSale { ${claims} } } } }`;
}
