import { useState } from 'preact/hooks';
import { SessionShell } from '../lib/SignIn.tsx';
import { L } from '../lib/text.tsx';
import { AfterSalePanel } from './AfterSalePanel.tsx';
import { RecordForm } from './RecordForm.tsx';

export function App() {
  return <SessionShell side="platform">{({ signOut }) => <Console onSignOut={signOut} />}</SessionShell>;
}

function Console({ onSignOut }: { onSignOut: (why: string | null) => void }) {
  const [number, setNumber] = useState('');
  return (
    <div class="shell platform">
      <header class="topbar">
        <h1>
          <L zh="平台仲裁台" en="Platform console" />
        </h1>
        <div class="topbar-actions">
          <button type="button" class="quiet" onClick={() => onSignOut(null)}>
            <L zh="退出" en="Sign out" />
          </button>
        </div>
      </header>
      <main class="console">
        <RecordForm onRecorded={setNumber} onAuthError={() => onSignOut('令牌无效或不是平台令牌 · The token was refused or is not a platform token')} />
        <AfterSalePanel number={number} onNumber={setNumber} />
      </main>
    </div>
  );
}
