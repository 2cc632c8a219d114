import type { Services } from './context.ts';
import { shopWithNearestDeadline } from './db/after-sales.ts';
import type { YogaServer } from './yoga.ts';

/** The workbench page: the request merchants send most, and the one that touches most of the API's code. */
const WORKBENCH_PAGE = /* GraphQL */ `
  query WarmUp {
    awaitingEvidence(first: 20) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id number orderNumber type reason amountCents status appliedAt
          evidenceRequest { id dueAt secondsRemaining status instructions }
          evidenceRequests {
            id status requestedAt dueAt
            submission { id explanation submittedAt files { id fileName contentType byteSize sha256 url } }
          }
          logs(first: 5) { pageInfo { hasNextPage } edges { node { id at actor action summary } } }
        }
      }
    }
  }
`;

/**
 * Reads one workbench page through the whole stack (token, yoga, the compiled
 * executor, the loaders and their prepared statements) before the server
 * listens. A fresh process otherwise spends its first request compiling all
 * of that: 40-48 ms for the first page against 9 ms for the next, and over
 * 120 ms while a deadline catch-up runs beside it (24-30 ms once warmed). It only reads, as the shop
 * with the nearest deadline; with no open round it has nothing to read and
 * skips. A failure here is logged and the start goes on.
 */
export async function warmUp(services: Services, yoga: YogaServer): Promise<void> {
  try {
    const merchantId = await shopWithNearestDeadline(services.db);
    if (!merchantId) return;
    const token = await services.auth.sign({ role: 'merchant', sub: 'warm-up', merchantId }, '1m');
    const response = await yoga.fetch('http://warm-up/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: WORKBENCH_PAGE }),
    });
    const result = (await response.json()) as { errors?: { message: string }[] };
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
  } catch (error) {
    services.log.warn({ err: error }, 'start-up warm-up failed; the first requests will be slower');
  }
}
