import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface Tracing {
  tracer: Tracer;
  /** Sends what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry spans over OTLP/HTTP (JSON) to `endpoint` + `/v1/traces`, the
 * way OTEL_EXPORTER_OTLP_ENDPOINT is meant. Not registered globally: each app
 * keeps its own provider (tests run several in one process).
 */
export function startTracing(endpoint: string): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'evidence-service' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }), { scheduledDelayMillis: 1000 })],
  });
  return { tracer: provider.getTracer('evidence-service'), shutdown: () => provider.shutdown() };
}

const w3c = new W3CTraceContextPropagator();
const headerGetter = { get: (headers: Headers, key: string) => headers.get(key) ?? undefined, keys: (headers: Headers) => [...headers.keys()] };

/**
 * One span per GraphQL operation (over HTTP and WebSocket), named after it,
 * a child of the caller's trace when the request carries `traceparent`.
 */
export function operationSpans(tracer: Tracer): Plugin {
  const start = (args: { document: Parameters<typeof getOperationAST>[0]; operationName?: string | null; contextValue: unknown }) => {
    const operation = getOperationAST(args.document, args.operationName);
    const name = operation?.name?.value ?? 'anonymous';
    const type = operation?.operation ?? 'unknown';
    const headers = (args.contextValue as { request?: Request }).request?.headers;
    const parent = headers ? w3c.extract(context.active(), headers, headerGetter) : context.active();
    return tracer.startSpan(
      `${type} ${name}`,
      { kind: SpanKind.SERVER, attributes: { 'graphql.operation.name': name, 'graphql.operation.type': type } },
      parent,
    );
  };
  const end = (span: ReturnType<Tracer['startSpan']>, result: unknown) => {
    const errors = (result as { errors?: readonly unknown[] } | undefined)?.errors;
    if (errors?.length) span.setStatus({ code: SpanStatusCode.ERROR, message: `${errors.length} error(s)` });
    span.end();
  };
  /** As in operationTimer (src/metrics.ts): a subscription's hooks live as long as it, so they hold no span of their own. */
  const subscribing = new WeakMap<object, ReturnType<Tracer['startSpan']>>();
  const subscribed = {
    onSubscribeResult({ args, result }: { args: object; result: unknown }) {
      const span = subscribing.get(args);
      subscribing.delete(args);
      if (span) end(span, result);
    },
  };
  return {
    onExecute({ args }) {
      const span = start(args);
      return { onExecuteDone: ({ result }) => end(span, result) };
    },
    onSubscribe({ args }) {
      subscribing.set(args, start(args));
      return subscribed;
    },
  };
}
