/**
 * Waiting for a condition in a test: polled until it holds, never a fixed
 * sleep; the deadline's error names what was awaited.
 */

/** Polls `condition` every `pollMs` until it holds; throws naming `what` after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  pollMs = 250,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
