import type { Context } from '../context.ts';
import type { Actor } from '../db/logs.ts';

/** The signed-in merchant's shop. Fields that call this declare the `merchant` scope. */
export function merchantOf(ctx: Context): string {
  if (ctx.viewer?.role !== 'merchant') throw new Error('merchant scope missing on a merchant field');
  return ctx.viewer.merchantId;
}

/** Who the log should name for this request's writes. */
export function actorOf(ctx: Context): Actor {
  if (!ctx.viewer) throw new Error('signed-in scope missing on a writing field');
  return { kind: ctx.viewer.role === 'merchant' ? 'MERCHANT' : 'PLATFORM', id: ctx.viewer.sub };
}
