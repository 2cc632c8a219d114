/** The token lives in this tab's sessionStorage only: never in a URL, gone when the tab closes. */
export type Side = 'merchant' | 'platform';

const key = (side: Side) => `evidence.${side}.token`;

export const loadToken = (side: Side): string | null => sessionStorage.getItem(key(side));
export const saveToken = (side: Side, token: string): void => sessionStorage.setItem(key(side), token);
export const clearToken = (side: Side): void => sessionStorage.removeItem(key(side));

export interface DemoSession {
  role: Side;
  id: string;
  token: string;
}

/** The demo shops a development server offers; none in production (404). */
export async function demoSessions(): Promise<DemoSession[]> {
  try {
    const res = await fetch('/demo-sessions.json', { cache: 'no-store' });
    return res.ok ? ((await res.json()) as DemoSession[]) : [];
  } catch {
    return [];
  }
}
