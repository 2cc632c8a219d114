import type { Client as WsClient } from 'graphql-ws';
import { useState } from 'preact/hooks';
import { SessionShell, TOKEN_EXPIRED } from '../lib/SignIn.tsx';
import { L } from '../lib/text.tsx';
import { AwaitingList } from './AwaitingList.tsx';
import { Detail } from './Detail.tsx';
import { MessageBox, useMessageBox } from './MessageBox.tsx';

export function App() {
  return <SessionShell side="merchant">{({ token, socket, signOut }) => <Workbench token={token} socket={socket} onSignOut={signOut} />}</SessionShell>;
}

function Workbench({ token, socket, onSignOut }: { token: string; socket: WsClient; onSignOut: (why: string | null) => void }) {
  const [openId, setOpenId] = useState<string | null>(null);
  const [boxOpen, setBoxOpen] = useState(false);
  // Bumped by each live message, so the list and the open detail read again.
  const [liveTick, setLiveTick] = useState(0);
  const box = useMessageBox(socket, () => setLiveTick((n) => n + 1), () => onSignOut(TOKEN_EXPIRED));

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
