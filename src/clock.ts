/** The one source of time: the app's parts take it, tests pass one they move by hand. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
