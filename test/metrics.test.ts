import { storedExec } from './stored.ts';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, openCase, startServer, submitEvidence, type TestServer } from './helpers.ts';
import { connect } from './ws-client.ts';

const TOKEN = 'metrics-token-0123456789';

async function scrape(server: TestServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample, `name` or `name{labels}` exactly as Prometheus prints it; 0 if absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function until(server: TestServer, check: (text: string) => boolean, what: string, ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await scrape(server);
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`Waited ${ms} ms for ${what}:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ EVIDENCE_WINDOW: '1500ms', REMINDER_LEAD: '1s', SWEEP_INTERVAL: '200ms', METRICS_TOKEN: TOKEN, LOG_LEVEL: 'fatal' });
  });
  afterAll(() => server.stop());

  it('needs the METRICS_TOKEN as a bearer token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('exports the process defaults, event-loop lag among them', async () => {
    const text = await scrape(server);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('times GraphQL operations by name', async () => {
    const series = 'graphql_operation_duration_seconds_count{operation_name="UnreadCount",operation_type="query"}';
    const before = sample(await scrape(server), series);
    const token = await server.merchantToken('shop-metrics');
    await server.gql(token, 'query UnreadCount { unreadMessageCount }');
    await server.gql(token, 'query UnreadCount { unreadMessageCount }');
    expect(sample(await scrape(server), series)).toBe(before + 2);
  });

  it('times subscriptions over the socket, once each stream is set up', async () => {
    const series = 'graphql_operation_duration_seconds_count{operation_name="TimedBox",operation_type="subscription"}';
    const before = await scrape(server);
    const socket = connect(server.url, await server.merchantToken('shop-metrics'));
    await socket.connected();
    const feed = socket.subscribe('subscription TimedBox { messageBox { cursor } }');
    await until(server, (text) => sample(text, series) === sample(before, series) + 1, 'the subscription to be timed');
    feed.unsubscribe();
    await socket.dispose();
    const open = sample(before, 'websocket_connections_open');
    await until(server, (text) => sample(text, 'websocket_connections_open') === open, 'the socket to be counted out');
  });

  it('counts open sockets while they are open', async () => {
    const before = sample(await scrape(server), 'websocket_connections_open');
    const socket = connect(server.url, await server.merchantToken('shop-metrics'));
    await socket.connected();
    expect(sample(await scrape(server), 'websocket_connections_open')).toBe(before + 1);
    await socket.dispose();
    await until(server, (text) => sample(text, 'websocket_connections_open') === before, 'the socket to be counted out');
  });

  it('counts the reminder and the expiry of a round, and how late the expiry ran', async () => {
    const before = await scrape(server);
    await openCase(server, 'shop-metrics');
    const after = await until(
      server,
      (text) => sample(text, 'evidence_expiries_sent_total') === sample(before, 'evidence_expiries_sent_total') + 1,
      'the round to expire',
    );
    expect(sample(after, 'evidence_reminders_sent_total')).toBe(sample(before, 'evidence_reminders_sent_total') + 1);
    expect(sample(after, 'evidence_expiry_lateness_seconds_count')).toBe(sample(before, 'evidence_expiry_lateness_seconds_count') + 1);
    // The contract: within a second of the deadline.
    const late = sample(after, 'evidence_expiry_lateness_seconds_sum') - sample(before, 'evidence_expiry_lateness_seconds_sum');
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1);
    expect(sample(after, 'deadline_sweep_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 5);
  });

  it('counts the evidence bytes an upload brings', async () => {
    const before = sample(await scrape(server), 'evidence_bytes_received_total');
    const merchant = await server.merchantToken('shop-bytes');
    const { requestId } = await openCase(server, 'shop-bytes');
    const photo = fixture('parcel-photo.jpg');
    const result = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Shipped intact' }, [{ content: photo, name: 'parcel.jpg' }]);
    expect(result.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(sample(await scrape(server), 'evidence_bytes_received_total')).toBe(before + fs.statSync(photo).size);
  });

  it('counts failed deadline sweeps', async () => {
    const before = sample(await scrape(server), 'deadline_sweep_failures_total');
    // The rounds' table disappears under the running scheduler: its sweeps fail until it is back.
    await storedExec(server.dataDir, 'ALTER TABLE evidence_requests RENAME TO evidence_requests_away');
    try {
      await until(server, (text) => sample(text, 'deadline_sweep_failures_total') > before, 'a failed sweep to be counted');
    } finally {
      await storedExec(server.dataDir, 'ALTER TABLE evidence_requests_away RENAME TO evidence_requests');
    }
  });
});
