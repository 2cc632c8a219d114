import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export interface Session {
  client: Client;
  socket: WsClient;
  dispose(): void;
}

const socketUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/**
 * One urql client (and its cache) and one socket per sign-in: signing out drops
 * both, so nothing one token read is ever shown to the next.
 */
export function openSession(token: string, onRejected: () => void): Session {
  const authorization = `Bearer ${token}`;
  const socket = createWsClient({
    url: socketUrl(),
    lazy: true,
    connectionParams: { authorization },
    retryAttempts: Infinity,
    // 4403: the token was refused or expired; retrying cannot help.
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === 4403),
    on: {
      closed: (event) => {
        if (event instanceof CloseEvent && event.code === 4403) onRejected();
      },
    },
  });
  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization } }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { client, socket, dispose: () => void socket.dispose() };
}

/** True when a result's errors say the token is missing, invalid or of the wrong role. */
export function isAuthError(error: { graphQLErrors?: { extensions?: Record<string, unknown> }[] } | undefined): boolean {
  return !!error?.graphQLErrors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED' || e.extensions?.code === 'FORBIDDEN');
}
