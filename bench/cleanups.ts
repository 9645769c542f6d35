/** Undo steps of a benchmark run: what it started or created is removed at the end, on error and on Ctrl-C. */

export type Cleanup = () => Promise<void>;

/**
 * `cleanups` takes the undo steps (a step done early is spliced out by the caller); `cleanUp` runs the rest,
 * newest first, each failure printed and passed over, and stops listening for signals. Until then SIGINT and
 * SIGTERM run them too, then exit with 130.
 */
export function cleanUpOnExit(): { cleanups: Cleanup[]; cleanUp: () => Promise<void> } {
  const cleanups: Cleanup[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  };
  const cleanUp = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((e: unknown) => console.error(e));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { cleanups, cleanUp };
}
