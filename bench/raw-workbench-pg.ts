import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { serveBaseline } from './lib/ipc.ts';

/**
 * The raw baseline for the workbench page on PostgreSQL: node:http and pg
 * (node-postgres) with hand-written SQL and hand-built JSON, the same answer
 * as the GraphQL service for the same token and the same six queries as the
 * SQLite baseline (ids as array parameters, the first log lines through a
 * LATERAL join), on a pool of as many connections as the service's (10).
 * Queries that need nothing from each other go out together: the list and
 * the count, then rounds and log lines, then submissions, then files.
 */
const secret = process.env.AUTH_SECRET!;
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));
const db = new pg.Pool({ connectionString: process.env.DATABASE_URL!, max: 10 });
const URL_TTL_MS = 15 * 60_000;

/** Named, so each connection parses and plans each query once. */
const q = (name: string, text: string) => (values: unknown[]) => db.query({ name, text, values }).then((r) => r.rows as any[]);
const list = q('list', `SELECT r.id AS rid, r.due_at, r.status AS rstatus, a.id, a.number, a.order_number, a.type, a.reason,
  a.amount_cents, a.status, a.applied_at
  FROM evidence_requests r JOIN after_sales a ON a.id = r.after_sale_id
  WHERE r.merchant_id = $1 AND r.status = 'OPEN' ORDER BY r.due_at, r.id LIMIT $2`);
const count = q('count', `SELECT count(*) AS n FROM evidence_requests WHERE merchant_id = $1 AND status = 'OPEN'`);
const rounds = q('rounds', `SELECT id, after_sale_id, status, requested_at, due_at FROM evidence_requests
  WHERE after_sale_id = ANY($1::int[]) ORDER BY after_sale_id, id`);
const submissions = q('submissions', `SELECT id, request_id, explanation, submitted_at FROM evidence_submissions
  WHERE request_id = ANY($1::int[])`);
const files = q('files', `SELECT id, submission_id, file_name, content_type, byte_size, sha256 FROM evidence_files
  WHERE submission_id = ANY($1::int[]) ORDER BY submission_id, position`);
const logs = q('logs', `SELECT l.id, l.after_sale_id, l.at, l.actor, l.action, l.summary FROM unnest($1::int[]) AS j(value)
  CROSS JOIN LATERAL (SELECT * FROM after_sale_logs WHERE after_sale_id = j.value ORDER BY id LIMIT $2) AS l
  ORDER BY l.after_sale_id, l.id`);

const gid = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
const iso = (ms: number) => new Date(ms).toISOString();

function group<T extends Record<string, any>>(rows: T[], key: string): Map<number, T[]> {
  const map = new Map<number, T[]>();
  for (const row of rows) {
    const list = map.get(row[key]);
    if (list) list.push(row);
    else map.set(row[key], [row]);
  }
  return map;
}

/** HS256 by hand: the merchant a bearer token names, or null. */
function merchantOf(header: string | undefined): string | null {
  const [h, p, s] = (header ?? '').replace(/^Bearer\s+/i, '').split('.');
  if (!h || !p || !s) return null;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) return null;
  return claims.role === 'merchant' && typeof claims.merchantId === 'string' ? claims.merchantId : null;
}

async function page(merchantId: string, first: number, origin: string) {
  const now = Date.now();
  const [rows, [{ n: total }]] = await Promise.all([list([merchantId, first + 1]), count([merchantId])]);
  const shown = rows.slice(0, first);
  const ids = shown.map((r) => r.id);
  const [roundRows, logRows] = await Promise.all([rounds([ids]), logs([ids, 6])]);
  const subRows = await submissions([roundRows.map((r) => r.id)]);
  const fileRows = subRows.length ? await files([subRows.map((s) => s.id)]) : [];
  const roundsBy = group(roundRows, 'after_sale_id');
  const subBy = new Map(subRows.map((s) => [s.request_id, s]));
  const filesBy = group(fileRows, 'submission_id');
  const logsBy = group(logRows, 'after_sale_id');
  const expires = now + URL_TTL_MS;
  const edges = shown.map((r) => {
    const own = roundsBy.get(r.id) ?? [];
    const newest = own.at(-1);
    const lines = logsBy.get(r.id) ?? [];
    return {
      cursor: Buffer.from(`due:${r.due_at}:${r.rid}`).toString('base64url'),
      node: {
        id: gid('AfterSale', r.id),
        number: r.number,
        orderNumber: r.order_number,
        type: r.type,
        reason: r.reason,
        amountCents: r.amount_cents,
        status: r.status,
        appliedAt: iso(r.applied_at),
        evidenceRequest: newest && {
          id: gid('EvidenceRequest', newest.id),
          dueAt: iso(newest.due_at),
          secondsRemaining: newest.status === 'OPEN' ? Math.max(0, Math.floor((newest.due_at - now) / 1000)) : 0,
          status: newest.status,
        },
        evidenceRequests: own.map((q) => {
          const s = subBy.get(q.id);
          return {
            id: gid('EvidenceRequest', q.id),
            status: q.status,
            requestedAt: iso(q.requested_at),
            dueAt: iso(q.due_at),
            submission: s
              ? {
                  id: gid('EvidenceSubmission', s.id),
                  explanation: s.explanation,
                  submittedAt: iso(s.submitted_at),
                  files: (filesBy.get(s.id) ?? []).map((f) => ({
                    id: gid('EvidenceFile', f.id),
                    fileName: f.file_name,
                    contentType: f.content_type,
                    byteSize: f.byte_size,
                    sha256: f.sha256,
                    url: `${origin}/files/${f.id}/${encodeURIComponent(f.file_name)}?expires=${expires}&sig=${createHmac('sha256', secret).update(`evidence-file:${f.id}:${expires}`).digest('base64url')}`,
                  })),
                }
              : null,
          };
        }),
        logs: {
          pageInfo: { hasNextPage: lines.length > 5 },
          edges: lines.slice(0, 5).map((l) => ({
            node: { id: gid('AfterSaleLog', l.id), at: iso(l.at), actor: l.actor, action: l.action, summary: l.summary },
          })),
        },
      },
    };
  });
  return {
    data: {
      awaitingEvidence: {
        totalCount: total,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        edges,
      },
    },
  };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const merchantId = merchantOf(req.headers.authorization);
    let text: string;
    try {
      if (!merchantId) text = JSON.stringify({ errors: [{ message: 'Sign in', extensions: { code: 'UNAUTHENTICATED' } }] });
      else {
        const first = Math.min(100, Number(JSON.parse(Buffer.concat(chunks).toString()).variables?.first ?? 20));
        text = JSON.stringify(await page(merchantId, first, `http://${req.headers.host}`));
      }
    } catch (error) {
      res.writeHead(500).end(String(error));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});

serveBaseline(server);
