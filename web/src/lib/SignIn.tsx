import { Provider } from '@urql/preact';
import type { Client as WsClient } from 'graphql-ws';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { openSession } from './client.ts';
import { clearToken, demoSessions, loadToken, saveToken, type DemoSession, type Side } from './session.ts';
import { Both, L } from './text.tsx';

export const TOKEN_EXPIRED = '令牌无效或已过期 · The token was refused or has expired';

export interface SignedIn {
  token: string;
  socket: WsClient;
  /** Back to the sign-in, with a notice saying why (null: the person chose to). */
  signOut: (why: string | null) => void;
}

/**
 * Either app's shell: the sign-in until there is a token, then the app under
 * that token's session. Signing out unmounts the app, so none of its state
 * reaches the next sign-in.
 */
export function SessionShell({ side, children }: { side: Side; children: (signedIn: SignedIn) => ComponentChildren }) {
  const [token, setToken] = useState(() => loadToken(side));
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = (why: string | null) => {
    clearToken(side);
    setNotice(why);
    setToken(null);
  };
  const session = useMemo(() => (token ? openSession(token, () => signOut(TOKEN_EXPIRED)) : null), [token]);
  useEffect(() => () => session?.dispose(), [session]);

  if (!token || !session) {
    return (
      <SignIn
        side={side}
        notice={notice}
        onSignIn={(t) => {
          saveToken(side, t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  return <Provider value={session.client}>{children({ token, socket: session.socket, signOut })}</Provider>;
}

/** Sign-in with a token; in development also one button per demo session of this side. */
export function SignIn({ side, notice, onSignIn }: { side: Side; notice: string | null; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [demos, setDemos] = useState<DemoSession[]>([]);
  useEffect(() => {
    void demoSessions().then((all) => setDemos(all.filter((s) => s.role === side)));
  }, [side]);
  return (
    <main class="signin">
      <form
        class="card"
        aria-labelledby="signin-title"
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onSignIn(token.trim());
        }}
      >
        <h1 id="signin-title">
          {side === 'merchant' ? <L zh="商家举证工作台" en="Merchant workbench" /> : <L zh="平台仲裁台" en="Platform console" />}
        </h1>
        {notice && (
          <p role="alert" class="error">
            {notice}
          </p>
        )}
        <label for="token">
          <L zh="令牌" en="Token" />
        </label>
        <input id="token" aria-label="Token" type="password" autoComplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        <p class="hint">
          <Both zh="令牌只保存在本标签页中，关闭即清除。" en="The token stays in this tab only and is gone when it closes." />
        </p>
        <button type="submit" class="primary">
          <L zh="登录" en="Sign in" />
        </button>
        {demos.length > 0 && (
          <section class="demos" aria-labelledby="demo-title">
            <h2 id="demo-title">
              <L zh="演示账号（开发环境）" en="Demo sessions (development)" />
            </h2>
            <div class="demo-buttons">
              {demos.map((demo) => (
                <button type="button" key={demo.id} onClick={() => onSignIn(demo.token)}>
                  {demo.id}
                </button>
              ))}
            </div>
          </section>
        )}
      </form>
    </main>
  );
}
