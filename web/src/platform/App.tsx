import { Provider } from '@urql/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { openSession } from '../lib/client.ts';
import { clearToken, loadToken, saveToken } from '../lib/session.ts';
import { SignIn } from '../lib/SignIn.tsx';
import { L } from '../lib/text.tsx';
import { AfterSalePanel } from './AfterSalePanel.tsx';
import { RecordForm } from './RecordForm.tsx';

export function App() {
  const [token, setToken] = useState(() => loadToken('platform'));
  const [notice, setNotice] = useState<string | null>(null);
  const [number, setNumber] = useState('');
  const signOut = (why: string | null) => {
    clearToken('platform');
    setNotice(why);
    setNumber('');
    setToken(null);
  };
  const session = useMemo(() => (token ? openSession(token, () => signOut('令牌无效或已过期 · The token was refused or has expired')) : null), [token]);
  useEffect(() => () => session?.dispose(), [session]);

  if (!token || !session) {
    return (
      <SignIn
        side="platform"
        notice={notice}
        onSignIn={(t) => {
          saveToken('platform', t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Provider value={session.client}>
      <div class="shell platform">
        <header class="topbar">
          <h1>
            <L zh="平台仲裁台" en="Platform console" />
          </h1>
          <div class="topbar-actions">
            <button type="button" class="quiet" onClick={() => signOut(null)}>
              <L zh="退出" en="Sign out" />
            </button>
          </div>
        </header>
        <main class="console">
          <RecordForm onRecorded={setNumber} onAuthError={() => signOut('令牌无效或不是平台令牌 · The token was refused or is not a platform token')} />
          <AfterSalePanel number={number} onNumber={setNumber} />
        </main>
      </div>
    </Provider>
  );
}
