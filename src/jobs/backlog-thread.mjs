// The backlog thread's start (src/jobs/backlog.ts). It is background work: on Linux it lowers its own
// scheduling priority first (threads it starts inherit it), so that where the cores are busy the main
// thread's requests come first and the catch-up takes what is left. Then, as a worker thread starts without
// the TypeScript loader that `npm start` runs under (tsx), it registers it and runs the thread's code.
import fs from 'node:fs';
import os from 'node:os';
import { register } from 'tsx/esm/api';

// 5, not 10: at 10 it lost its core to any busy neighbour (18-19k rounds/s against 22-23k), with no better p99.
const NICE = 5;
try {
  // "<pid>/task/<tid>": this thread's own id, which setpriority takes on Linux for one thread.
  os.setPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), NICE);
} catch {
  // Elsewhere, or not allowed: the thread runs at the process's priority.
}
register();
await import('./backlog-thread.ts');
