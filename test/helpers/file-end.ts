/**
 * What a helper module must undo at the end of every test file that used it (kill the processes
 * it started, remove its temp dirs, close its stores), run by the per-file setup
 * (./file-setup.ts, vitest.config.ts `setupFiles`).
 *
 * Why not the helper's own module-level `afterAll`: the unit project runs its files without
 * isolation (one module graph per worker, for speed: vitest.config.ts), so a helper module is
 * evaluated once per worker and its `afterAll` would belong to the first file that imported it
 * alone; the setup file, though, runs again before every file.
 */
const hooks = new Set<() => unknown>()

/** `cleanup` runs after each test file from now on, in the order of registration */
export function atFileEnd(cleanup: () => unknown): void {
  hooks.add(cleanup)
}

/** runs every registered cleanup (all of them, even when one throws; the first error is thrown) */
export async function runFileEnd(): Promise<void> {
  let failure: unknown
  for (const cleanup of hooks) {
    try {
      await cleanup()
    } catch (err) {
      failure ??= err
    }
  }
  if (failure !== undefined) throw failure
}
