import type { IncomingMessage } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Auth, Viewer } from './auth.ts';
import { createContext, type Services } from './context.ts';
import { loggerOf, unexpectedErrors, yogaLogger } from './logger.ts';
import { operationTimer } from './metrics.ts';
import { persistedQueries } from './persisted-queries.ts';
import { operationSpans } from './tracing.ts';
import { schema } from './schema/index.ts';
import { sharedSubscriptionExecution, type SocketContext } from './shared-execution.ts';

/** What the HTTP and socket front ends hand to yoga beside the request. */
export interface ServerContext {
  /** Set for sockets, where the token was checked once at connection_init. */
  socketViewer?: Viewer | null;
  socketBaseUrl?: string;
  /** Set for socket subscriptions: sends one of its `next` frames directly (src/ws.ts, src/shared-execution.ts). */
  sendNext?: SocketContext['sendNext'];
  /** Set for multipart requests: the operation graphql-upload-minimal already parsed. */
  uploadOperations?: unknown;
  /** The Node request, for its logger: yoga's Node adapter sets it, the multipart front end passes it. */
  req?: IncomingMessage;
}

/** Introspection off in production; an envelop rule, so it holds over the socket too. */
const noIntrospection: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(NoSchemaIntrospectionCustomRule);
  },
};

/** Hands yoga the operation that the multipart front end parsed, so yoga never reads that body. */
const preParsedUploads: Plugin<ServerContext> = {
  onRequestParse({ serverContext, setRequestParser }) {
    const operations = (serverContext as ServerContext | undefined)?.uploadOperations;
    if (operations) setRequestParser(() => operations as never);
  },
};

/**
 * Queries and mutations run as compiled JavaScript (graphql-jit), one function
 * per distinct document, kept as long as yoga's parse cache (an LRU) keeps the
 * document. The workbench page spent a third of
 * its CPU in the field-by-field executor and the promises and garbage it
 * makes; compiled, each field is a plain call. Subscriptions keep the
 * reference executor: their feeds are async iterators the compiled path does
 * not take.
 */
const compiledQueries = useGraphQlJit(
  {},
  {
    enableIf: ({ document, operationName }) => getOperationAST(document, operationName)?.operation !== 'subscription',
  },
);

const VERIFIED_TOKENS = 10_000;

/**
 * Bearer tokens already verified, so a client's next request skips the check.
 * jose verifies HS256 through WebCrypto, which answers on a later event-loop
 * turn (one to three): while a deadline catch-up runs a batch per turn, that
 * alone added up to three batches to every request. A token's verdict only
 * changes when it expires, which a hit checks; refused tokens are not kept.
 */
function verifiedTokens(auth: Auth) {
  const viewers = new Map<string, Viewer>();
  return async (header: string | null): Promise<Viewer | null> => {
    if (!header) return null;
    const known = viewers.get(header);
    if (known && (known.expiresAt == null || known.expiresAt > Date.now())) return known;
    viewers.delete(header);
    const viewer = await auth.fromHeader(header);
    if (viewer) {
      if (viewers.size >= VERIFIED_TOKENS) viewers.delete(viewers.keys().next().value!);
      viewers.set(header, viewer);
    }
    return viewer;
  };
}

export function createYogaServer(services: Services) {
  const production = services.config.production;
  const viewerOf = verifiedTokens(services.auth);
  return createYoga<ServerContext>({
    schema,
    graphqlEndpoint: '/graphql',
    multipart: false,
    batching: false,
    landingPage: false,
    graphiql: production ? false : { title: 'After-sales evidence API', subscriptionsProtocol: 'WS' },
    // Every asset inlined from this package, so GraphiQL works with no internet access;
    // loaded on first use, so production never holds its 9 MB.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    maskedErrors: { isDev: false },
    logging: yogaLogger(services.log),
    plugins: [
      preParsedUploads,
      unexpectedErrors(),
      persistedQueries(services.config.persistedOperationsFile),
      operationTimer(services.metrics),
      ...(services.tracing ? [operationSpans(services.tracing.tracer)] : []),
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 20 },
        maxDirectives: { n: 20 },
        maxTokens: { n: 2000 },
        // Cost grows by depthCostFactor per level; these let the full workbench page (cost ~11,500) through.
        costLimit: { maxCost: 20000, objectCost: 2, scalarCost: 1, depthCostFactor: 1.2 },
        blockFieldSuggestion: { enabled: production },
      }),
      ...(production ? [noIntrospection] : []),
      compiledQueries,
      sharedSubscriptionExecution,
    ],
    context: async (init) => {
      if ('socketViewer' in init) return createContext(services, init.socketViewer ?? null, init.socketBaseUrl ?? '');
      const url = new URL(init.request.url);
      let viewer: Viewer | null = null;
      try {
        viewer = await viewerOf(init.request.headers.get('authorization'));
      } catch {
        // An invalid token reads as no token: protected fields answer UNAUTHENTICATED.
      }
      return createContext(services, viewer, url.origin, loggerOf(init.req, services.log));
    },
  });
}

export type YogaServer = ReturnType<typeof createYogaServer>;
