// A worker thread starts without the TypeScript loader: register it, then run ./hold-write.ts.
import { register } from 'tsx/esm/api';

register();
await import('./hold-write.ts');
