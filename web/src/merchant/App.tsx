import { Provider } from '@urql/preact';
import type { Client as WsClient } from 'graphql-ws';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { openSession } from '../lib/client.ts';
import { clearToken, loadToken, saveToken } from '../lib/session.ts';
import { SignIn } from '../lib/SignIn.tsx';
import { L } from '../lib/text.tsx';
import { AwaitingList } from './AwaitingList.tsx';
import { Detail } from './Detail.tsx';
import { MessageBox, useMessageBox } from './MessageBox.tsx';

export function App() {
  const [token, setToken] = useState(() => loadToken('merchant'));
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = (why: string | null) => {
    clearToken('merchant');
    setNotice(why);
    setToken(null);
  };
  const session = useMemo(() => (token ? openSession(token, () => signOut('令牌无效或已过期 · The token was refused or has expired')) : null), [token]);
  useEffect(() => () => session?.dispose(), [session]);

  if (!token || !session) {
    return (
      <SignIn
        side="merchant"
        notice={notice}
        onSignIn={(t) => {
          saveToken('merchant', t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Provider value={session.client}>
      <Workbench token={token} socket={session.socket} onSignOut={signOut} />
    </Provider>
  );
}

function Workbench({ token, socket, onSignOut }: { token: string; socket: WsClient; onSignOut: (why: string | null) => void }) {
  const [openId, setOpenId] = useState<string | null>(null);
  const [boxOpen, setBoxOpen] = useState(false);
  // Bumped by each live message, so the list and the open detail read again.
  const [liveTick, setLiveTick] = useState(0);
  const box = useMessageBox(socket, () => setLiveTick((n) => n + 1), () => onSignOut('令牌无效或已过期 · The token was refused or has expired'));

  return (
    <div class={`shell ${openId ? 'has-detail' : ''}`}>
      <header class="topbar">
        <h1>
          <L zh="商家举证工作台" en="Merchant workbench" />
        </h1>
        <div class="topbar-actions">
          <button type="button" class="messages-button" aria-expanded={boxOpen} aria-controls="message-box" onClick={() => setBoxOpen(!boxOpen)}>
            <L zh="消息" en="Messages" />{' '}
            <span class={`badge ${box.unread ? '' : 'zero'}`}>{box.unread}</span>
          </button>
          <button type="button" class="quiet" onClick={() => onSignOut(null)}>
            <L zh="退出" en="Sign out" />
          </button>
        </div>
      </header>
      <main class="workspace">
        <AwaitingList selected={openId} onOpen={setOpenId} liveTick={liveTick} onAuthError={() => onSignOut('令牌无效 · The token was refused')} />
        {openId && <Detail id={openId} token={token} liveTick={liveTick} onBack={() => setOpenId(null)} />}
      </main>
      {boxOpen && (
        <MessageBox
          box={box}
          onClose={() => setBoxOpen(false)}
          onOpen={(id) => {
            setOpenId(id);
            setBoxOpen(false);
          }}
        />
      )}
    </div>
  );
}
