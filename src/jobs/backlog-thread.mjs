// A worker thread starts without the TypeScript loader that `npm start` runs under (tsx): it registers
// the loader, then runs the thread's code (src/jobs/backlog-thread.ts).
import { register } from 'tsx/esm/api';

register();
await import('./backlog-thread.ts');
