import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type TestServer } from './helpers.ts';
import { connect } from './ws-client.ts';

interface ReceivedSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

describe('OpenTelemetry spans with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let collector: http.Server;
  let server: TestServer;
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];

  beforeAll(async () => {
    // A collector's OTLP/HTTP receiver, as small as it gets: it keeps what it is sent.
    collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        paths.push(req.url ?? '');
        const sent = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[] };
        for (const resource of sent.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    server = await startServer({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => collector.close(resolve));
  });

  it("sends one span per operation, named after it, in the caller's trace", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await server.merchantToken('shop-traced')}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ query: 'query TracedUnread { unreadMessageCount }' }),
    });
    expect(await res.json()).toEqual({ data: { unreadMessageCount: 0 } });
    await vi.waitFor(() => expect(spans.find((s) => s.name === 'query TracedUnread')).toBeDefined(), { timeout: 5000, interval: 100 });
    const span = spans.find((s) => s.name === 'query TracedUnread')!;
    expect(span.traceId).toBe(traceId);
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(span.attributes).toContainEqual({ key: 'graphql.operation.name', value: { stringValue: 'TracedUnread' } });
    expect(paths).toContain('/v1/traces');
  });

  it('sends a span for a subscription over the socket once its stream is set up', async () => {
    const socket = connect(server.url, await server.merchantToken('shop-traced'));
    await socket.connected();
    const feed = socket.subscribe('subscription TracedBox { messageBox { cursor } }');
    await vi.waitFor(() => expect(spans.find((s) => s.name === 'subscription TracedBox')).toBeDefined(), { timeout: 5000, interval: 100 });
    const span = spans.find((s) => s.name === 'subscription TracedBox')!;
    expect(span.attributes).toContainEqual({ key: 'graphql.operation.type', value: { stringValue: 'subscription' } });
    feed.unsubscribe();
    await socket.dispose();
  });
});
