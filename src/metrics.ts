import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus family the service exports, in one registry per app (tests
 * run several apps in one process; prom-client's global registry would clash).
 * The process defaults include event-loop lag (`nodejs_eventloop_lag_seconds`).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    operationDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'Time to execute one GraphQL operation (subscriptions: until the stream is set up), by operation name and type',
      labelNames: ['operation_name', 'operation_type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    openSockets: new Gauge({ name: 'websocket_connections_open', help: 'WebSocket connections open on /graphql', registers }),
    remindersSent: new Counter({ name: 'evidence_reminders_sent_total', help: 'EVIDENCE_DUE_SOON reminders sent by the deadline scheduler', registers }),
    expiriesSent: new Counter({ name: 'evidence_expiries_sent_total', help: 'Rounds expired (and decided for the buyer) by the deadline scheduler', registers }),
    expiryLateness: new Histogram({
      name: 'evidence_expiry_lateness_seconds',
      help: 'How long after its dueAt each round was expired (the contract allows 1 s)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300, 3600],
      registers,
    }),
    sweepFailures: new Counter({ name: 'deadline_sweep_failures_total', help: 'Deadline sweeps that threw (each is retried at the next tick)', registers }),
    lastSweep: new Gauge({ name: 'deadline_sweep_last_success_timestamp_seconds', help: 'When a deadline sweep last completed', registers }),
    bytesReceived: new Counter({ name: 'evidence_bytes_received_total', help: 'Bytes of evidence files streamed in by uploads', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const MAX_OPERATION_NAMES = 200;

/** Times each operation's execute (or subscribe) phase, over HTTP and WebSocket alike. */
export function operationTimer(metrics: Metrics): Plugin {
  // Clients choose operation names: past this many distinct ones, new names count as "other".
  const names = new Set<string>();
  const label = (name: string | undefined) => {
    if (!name) return 'anonymous';
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };
  const observe = (args: { document: Parameters<typeof getOperationAST>[0]; operationName?: string | null }) => {
    const operation = getOperationAST(args.document, args.operationName);
    return metrics.operationDuration.startTimer({
      operation_name: label(operation?.name?.value),
      operation_type: operation?.operation ?? 'unknown',
    });
  };
  /**
   * A subscription's hooks stay alive as long as the subscription (envelop's
   * iterator wrappers keep them): one shared object, with the timer kept by
   * `args` only until the stream is set up, rather than a closure each (to
   * which tsx would add a ~250-byte table to keep its name).
   */
  const subscribing = new WeakMap<object, () => void>();
  const subscribed = {
    onSubscribeResult({ args }: { args: object }) {
      subscribing.get(args)?.();
      subscribing.delete(args);
    },
  };
  return {
    onExecute({ args }) {
      const done = observe(args);
      return { onExecuteDone: () => void done() };
    },
    onSubscribe({ args }) {
      subscribing.set(args, observe(args));
      return subscribed;
    },
  };
}
