import { builder } from './builder.ts';
import './scalars.ts';
import './enums.ts';
import './errors.ts';
import './after-sale.ts';
import './evidence.ts';
import './evidence-mutations.ts';
import './draft.ts';
import './log.ts';
import './message.ts';
import './subscriptions.ts';

export const schema = builder.toSchema({ sortSchema: false });
