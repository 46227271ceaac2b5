/** Exit once stdout/stderr have drained (piped output is asynchronous). Its own module: every command,
 * `--version` included, exits through it, and it must not bring the DSL along (docs/startup.md). */
export async function exitWith(code: number): Promise<never> {
  await Promise.all(
    [process.stdout, process.stderr].map(
      // A stream that failed (EPIPE, ENOSPC) never drains: don't wait for it, nor forever for any.
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed || !s.writableNeedDrain) return resolve();
          s.once('drain', () => resolve());
          s.once('error', () => resolve());
          setTimeout(resolve, 2000).unref();
        }),
    ),
  );
  process.exit(code);
}
