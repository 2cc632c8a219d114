import { useMutation, useQuery, useSubscription } from '@urql/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Client as WsClient } from 'graphql-ws';
import type { MessageFieldsFragment } from '../gql/graphql.ts';
import { isAuthError } from '../lib/client.ts';
import { Both, formatTime, L } from '../lib/text.tsx';
import { MarkReadMutation, MessageBoxSubscription, MessagesQuery } from './operations.ts';

export interface MessageBoxState {
  messages: MessageFieldsFragment[];
  unread: number;
  markRead(ids: string[]): Promise<void>;
}

/**
 * The message box: the newest page, then live over messageBox(after:) from the
 * newest cursor. After a reconnect the page is read again and the subscription
 * starts over from its newest cursor, so nothing sent while the socket was down
 * is missed (even into an empty box); messages already shown are recognised by id.
 */
export function useMessageBox(socket: WsClient, onLive: () => void, onAuthError: () => void): MessageBoxState {
  const [initial, reexecute] = useQuery({ query: MessagesQuery, requestPolicy: 'network-only' });
  const [messages, setMessages] = useState<MessageFieldsFragment[]>([]);
  const [unread, setUnread] = useState(0);
  const [after, setAfter] = useState<string | null | undefined>(undefined);
  const onLiveRef = useRef(onLive);
  onLiveRef.current = onLive;

  useEffect(() => {
    const data = initial.data;
    if (!data) return;
    setMessages(data.messages.edges.map((e) => e.node));
    setUnread(data.unreadMessageCount);
    setAfter((known) => (known === undefined ? (data.messages.edges[0]?.cursor ?? null) : known));
  }, [initial.data]);
  useEffect(() => {
    if (isAuthError(initial.error)) onAuthError();
  }, [initial.error]);

  useEffect(
    () =>
      socket.on('connected', (_socket, _payload, wasRetry) => {
        if (!wasRetry) return;
        setAfter(undefined);
        reexecute({ requestPolicy: 'network-only' });
        onLiveRef.current();
      }),
    [socket],
  );

  const [live] = useSubscription({ query: MessageBoxSubscription, variables: { after }, pause: after === undefined });
  useEffect(() => {
    const event = live.data?.messageBox;
    if (!event) return;
    setUnread(event.unreadCount);
    setMessages((list) => (list.some((m) => m.id === event.message.id) ? list : [event.message, ...list]));
    onLiveRef.current();
  }, [live.data]);

  const [, markMessagesRead] = useMutation(MarkReadMutation);
  async function markRead(ids: string[]) {
    if (ids.length === 0) return;
    await markMessagesRead({ ids });
    const at = new Date().toISOString();
    setMessages((list) => list.map((m) => (ids.includes(m.id) && !m.readAt ? { ...m, readAt: at } : m)));
    reexecute({ requestPolicy: 'network-only' });
  }
  return { messages, unread, markRead };
}

export function MessageBox({ box, onClose, onOpen }: { box: MessageBoxState; onClose: () => void; onOpen: (afterSaleId: string) => void }) {
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  const unreadIds = box.messages.filter((m) => !m.readAt).map((m) => m.id);
  return (
    <aside id="message-box" class="message-box" aria-labelledby="box-title" tabIndex={-1} ref={panel}>
      <div class="pane-head">
        <h2 id="box-title">
          <L zh="消息盒子" en="Message box" />
        </h2>
        <button type="button" class="quiet" onClick={() => void box.markRead(unreadIds)} disabled={unreadIds.length === 0}>
          <L zh="全部已读" en="Mark all read" />
        </button>
        <button type="button" class="quiet" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {box.messages.length === 0 && (
        <p class="empty">
          <Both zh="暂无消息" en="No messages yet." />
        </p>
      )}
      <ul class="messages" aria-label="Message list">
        {box.messages.map((m) => (
            <li key={m.id} class={m.readAt ? 'read' : 'unread'}>
              <button
                type="button"
                class="message"
                onClick={() => {
                  if (!m.readAt) void box.markRead([m.id]);
                  onOpen(m.afterSale.id);
                }}
              >
                <span class="message-kind">
                  {!m.readAt && <span class="dot" aria-label="Unread" role="img" />}
                  {m.afterSale.number}
                </span>
                <strong class="message-title">{m.title}</strong>
                <span class="message-body">{m.body}</span>
                <time dateTime={m.createdAt}>{formatTime(m.createdAt)}</time>
              </button>
            </li>
        ))}
      </ul>
    </aside>
  );
}
