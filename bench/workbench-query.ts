/** The merchant's workbench page, as the web client asks for it. Both servers must answer it identically. */
export const WORKBENCH_QUERY = `query Workbench($first: Int!) {
  awaitingEvidence(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id number orderNumber type reason amountCents status appliedAt
        evidenceRequest { id dueAt secondsRemaining status }
        evidenceRequests {
          id status requestedAt dueAt
          submission { id explanation submittedAt files { id fileName contentType byteSize sha256 url } }
        }
        logs(first: 5) { pageInfo { hasNextPage } edges { node { id at actor action summary } } }
      }
    }
  }
}`;

/** Drops what depends on the instant of the answer (link signatures, seconds left), so two answers compare. */
export function comparable(body: unknown): string {
  return JSON.stringify(body, (key, value) => {
    if (key === 'url' && typeof value === 'string') return value.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '?…');
    if (key === 'secondsRemaining') return typeof value;
    return value;
  });
}
