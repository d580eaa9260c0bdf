/** Waits until `condition` holds, looking every 20 ms for at most `ms`; whether it came to hold. */
export async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((wake) => setTimeout(wake, 20))) {
    if (condition()) return true;
  }
  return condition();
}
