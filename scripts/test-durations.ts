/**
 * `npm run test:durations`: writes test/durations.json, the expected duration of every test file
 * that test/helpers/sequencer.ts orders the run by (longest first), from the durations vitest's
 * results cache holds after a run (or the results.json given as the argument, e.g. a CI clone's
 * node_modules/.vite/vitest/<hash>/results.json). Run it after a whole `npm test` on a quiet machine when files
 * were added or got much faster or slower; a stale table only costs a less even finish.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function resultsFile(): string {
  if (process.argv[2]) return process.argv[2]
  const cacheDir = join(root, 'node_modules/.vite/vitest')
  const [hash] = readdirSync(cacheDir)
  if (!hash) throw new Error(`no vitest results cache in ${cacheDir}: run npm test first`)
  return join(cacheDir, hash, 'results.json')
}

const {results} = JSON.parse(readFileSync(resultsFile(), 'utf8')) as {results: [string, {duration: number}][]}
const seconds = Object.fromEntries(
  results
    .map(([key, {duration}]) => [key, Math.round(duration / 100) / 10] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1)),
)
const path = join(root, 'test/durations.json')
writeFileSync(path, JSON.stringify({comment: 'seconds per test file of a whole run (npm run test:durations), for test/helpers/sequencer.ts', seconds}, null, 1) + '\n')
console.log(`wrote ${path}: ${results.length} files`)
