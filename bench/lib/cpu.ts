import fs from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux build Node runs on). */
const HZ = 100;

/** utime, stime, cutime, cstime of a process, in ticks (fields 14–17 of /proc/<pid>/stat), and its parent. */
function times(pid: number): { ppid: number; own: number; reaped: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The name, in parentheses, may hold spaces: the fields start after its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** CPU seconds a process has used so far, all its threads (user and system). */
export function processCpu(pid: number): number {
  return (times(pid)?.own ?? 0) / HZ;
}

/**
 * CPU seconds used so far by a server and its children: PostgreSQL's postmaster and its backends. A
 * backend that has ended counts through its parent's reaped-children times, so connections that came and
 * went are not lost. Linux only; 0 where /proc is missing.
 */
export function processTreeCpu(root: number): number {
  let ticks = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const t = pid === root || pid > 1 ? times(pid) : null;
    if (!t) continue;
    if (pid === root) ticks += t.own + t.reaped;
    else if (t.ppid === root) ticks += t.own;
  }
  return ticks / HZ;
}
