import {
  createSourceEventStream,
  execute,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { WebSocket } from 'ws';
import { eventContext, type Context } from './context.ts';
import { deliverDirectly, feedItemOf, type Direct } from './feeds.ts';

/**
 * Subscriptions whose events come from a shared feed read (src/feeds.ts) are
 * executed once per row, document and kind of viewer, not once per socket:
 * when 2,000 sockets of a shop get one message, the event is resolved (its
 * unread count and after-sale read, its fields completed) for the first and
 * the others are handed the same result. What the result may depend on is in
 * the key: the document, the variables it reads below the subscription field
 * (the field's own arguments only choose the feed: `after` is where a socket
 * resumed, not what an event holds), the viewer's role and shop, and the base
 * of links. Everything else (parse, validation, auth on subscribing, masking
 * errors) is yoga's as before; only the per-event `execute` is shared.
 */
export const sharedSubscriptionExecution: Plugin = {
  onSubscribe({ setSubscribeFn }) {
    setSubscribeFn(subscribeSharing as never);
  },
};

async function subscribeSharing(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
  const events = new EventExecution(args);
  // A socket's events go out as soon as they are resolved, past yoga's and graphql-ws's iteration; one with
  // errors goes through them instead, to be masked as any other operation's.
  if (events.sendNext) deliverDirectly(stream, events);
  return new MappedStream(stream, events);
}

/**
 * How one subscription's events are executed, and sent when its socket takes
 * them directly. An object with methods rather than closures: it lives as
 * long as the subscription, and tsx gives every named closure a property
 * table of its own (~250 bytes) to keep its name.
 */
class EventExecution implements Direct<unknown> {
  private key: string | undefined;
  readonly sendNext: SocketContext['sendNext'];

  constructor(private readonly args: ExecutionArgs) {
    this.sendNext = (args.contextValue as SocketContext).sendNext;
  }

  resolve(payload: unknown): Promise<ExecutionResult> | ExecutionResult {
    const item = feedItemOf(payload);
    // A read only one subscriber took has no one to share with (a replay, a lone socket).
    if (!item || item.read.takers === 1) return this.run(payload);
    this.key ??= executionKey(this.args);
    return item.read.once(`execution:${item.row.id}:${this.key}`, async () => {
      const result = await this.run(payload);
      shared.add(result);
      return result;
    });
  }

  send(result: unknown, wait: boolean): boolean | Promise<boolean> {
    return (result as ExecutionResult).errors ? false : this.sendNext!(jsonOf(result as ExecutionResult), wait);
  }

  /** One event executed, with a context of its own (fresh loaders, gone with the event). */
  private run(payload: unknown): Promise<ExecutionResult> | ExecutionResult {
    const contextValue = eventContext(this.args.contextValue as Context);
    return execute({ ...this.args, contextValue, rootValue: payload }) as Promise<ExecutionResult> | ExecutionResult;
  }
}

/** What the socket front end (src/ws.ts) puts in a subscription's context. */
export interface SocketContext {
  /**
   * Sends one `next` frame of this subscription whose payload is `json`:
   * true once it is on its way (or needs not go: the operation is over).
   * While the socket has earlier frames still to write, it sends and answers
   * a promise of true that settles once written if `wait`, and sends nothing
   * and answers false otherwise.
   */
  sendNext?: (json: string, wait: boolean) => boolean | Promise<boolean>;
}

/** Results handed to more than one socket. */
const shared = new WeakSet<object>();

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/** What the result of one event may depend on besides the row (see above). */
function executionKey(args: ExecutionArgs): string {
  let documentId = documentIds.get(args.document);
  if (documentId === undefined) documentIds.set(args.document, (documentId = ++nextDocumentId));
  const read = variablesReadBelowRoot(args.document, args.operationName);
  const variables = Object.entries(args.variableValues ?? {}).filter(([name]) => read.has(name));
  const ctx = args.contextValue as Context;
  const viewer = ctx.viewer ? `${ctx.viewer.role}:${ctx.viewer.role === 'merchant' ? ctx.viewer.merchantId : ''}` : '-';
  return JSON.stringify([documentId, args.operationName ?? null, variables, viewer, ctx.baseUrl]);
}

const readBelowRoot = new WeakMap<DocumentNode, Map<string | null, Set<string>>>();

/**
 * The variables a subscription document reads anywhere but in the arguments of
 * its root fields: in their selections and directives, and in every fragment.
 */
function variablesReadBelowRoot(document: DocumentNode, operationName: string | null | undefined): Set<string> {
  let byOperation = readBelowRoot.get(document);
  if (!byOperation) readBelowRoot.set(document, (byOperation = new Map()));
  const known = byOperation.get(operationName ?? null);
  if (known) return known;
  const names = new Set<string>();
  const collect = (node: Parameters<typeof visit>[0]) =>
    visit(node, {
      Variable(variable) {
        names.add(variable.name.value);
      },
    });
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) collect(definition);
  }
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operationName == null || d.name?.value === operationName),
  );
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD) {
      collect(selection);
      continue;
    }
    for (const directive of selection.directives ?? []) collect(directive);
    if (selection.selectionSet) collect(selection.selectionSet);
  }
  byOperation.set(operationName ?? null, names);
  return names;
}

/**
 * `source` with each value resolved by `events`. `return` goes straight to the
 * source, so a client's `complete` stops the feed at once. A class, for the
 * reason EventExecution is one.
 */
class MappedStream implements AsyncGenerator<ExecutionResult> {
  private readonly iterator: AsyncIterator<unknown>;

  constructor(
    source: AsyncIterable<unknown>,
    private readonly events: EventExecution,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    const step = await this.iterator.next();
    return step.done ? { done: true, value: undefined } : { done: false, value: await this.events.resolve(step.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    await this.iterator.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (this.iterator.throw) await this.iterator.throw(error);
    throw error;
  }
}

/**
 * A subscription event many sockets get (see src/shared-execution.ts) is the
 * same result object for all; its JSON is made once and spliced into each
 * socket's frame. graphql-ws stringifies a frame and hands it to the socket's
 * `send` in one synchronous step, so the payload's `toJSON` leaves its JSON
 * for that very `send` to put in place of a marker at the frame's end (the
 * payload is the frame's last member).
 */
const MARKER = '\u0000shared-payload';
const MARKER_END = `${JSON.stringify(MARKER)}}`;
let pendingJson: string | undefined;

class SerializedOnce {
  constructor(readonly json: string) {}
  toJSON(): string {
    pendingJson = this.json;
    return MARKER;
  }
}

const serialized = new WeakMap<object, SerializedOnce>();

export function serializedOnce(result: ExecutionResult): SerializedOnce | undefined {
  if (!shared.has(result)) return undefined;
  let once = serialized.get(result);
  if (!once) serialized.set(result, (once = new SerializedOnce(JSON.stringify(result))));
  return once;
}

/** The JSON of an event's result: made once for a result many sockets get. */
function jsonOf(result: ExecutionResult): string {
  return serializedOnce(result)?.json ?? JSON.stringify(result);
}

/** A ws socket's `send` that puts a shared payload's JSON in place of its marker. */
export function sendSpliced(this: WebSocket, data: string, ...rest: unknown[]): void {
  if (pendingJson !== undefined && typeof data === 'string' && data.endsWith(MARKER_END)) {
    data = `${data.slice(0, -MARKER_END.length)}${pendingJson}}`;
  }
  pendingJson = undefined;
  (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
}
