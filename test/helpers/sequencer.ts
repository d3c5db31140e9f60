/**
 * The order vitest hands test files to its two workers (vitest.config.ts `sequence.sequencer`):
 * longest first, across the projects, so the last files to start are short ones and both
 * workers finish together (longest-processing-time-first scheduling). vitest's own order runs
 * one project after the other and, on a clean clone (no results cache, as in
 * CI), larger files first, which leaves whatever long file happens to be small for the end.
 *
 * A file's expected duration is the one this machine's vitest results cache measured last
 * (node_modules/.vite/vitest), else the committed table test/durations.json (a quiet CI run's
 * figures; `npm run test:durations` rewrites it from the cache after a whole run). Files known to
 * neither, new ones, go first: they are the likeliest to be long, and a short file early costs
 * nothing, a long one last costs its whole length.
 */
import {readFileSync} from 'node:fs'
import {relative} from 'node:path'
import {BaseSequencer, type TestSpecification} from 'vitest/node'

/** `project:path` → seconds */
function committedDurations(): Map<string, number> {
  const table = JSON.parse(readFileSync(new URL('../durations.json', import.meta.url), 'utf8')) as {seconds: Record<string, number>}
  return new Map(Object.entries(table.seconds))
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const committed = committedDurations()
    const expected = (spec: TestSpecification): number => {
      const key = `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`
      const cached = this.ctx.cache.getFileTestResults(key)
      if (cached && !cached.failed) return cached.duration / 1000
      return committed.get(key) ?? Infinity
    }
    return files
      .map((spec) => ({spec, seconds: expected(spec)}))
      .sort((a, b) => (a.seconds === b.seconds ? 0 : b.seconds > a.seconds ? 1 : -1))
      .map(({spec}) => spec)
  }
}
