/** First reconnection delay. */
export const BACKOFF_BASE_MS = 1_000;
/** Longest reconnection delay. */
export const BACKOFF_MAX_MS = 30_000;

/**
 * How long to wait before reconnection attempt `attempt` (0 for the first): the base
 * doubling up to the maximum, of which a random half is waited, so clients that lost
 * the same edge at the same moment do not all come back at once.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + random() * (ceiling / 2);
}
