/**
 * `npm run bench:readme`: rewrites the block between `<!-- bench:begin -->` and
 * `<!-- bench:end -->` in README.md with the latest ratio of every benchmark from
 * bench/results/records.jsonl, so the README never carries hand-copied figures.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {readmeTable, readRecords, rewriteBlock} from './record.js'

const README = fileURLToPath(new URL('../README.md', import.meta.url))
const before = readFileSync(README, 'utf8')
let after: string
try {
  after = rewriteBlock(before, readmeTable(readRecords()))
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}
if (after === before) console.log('README.md benchmark block already up to date')
else {
  writeFileSync(README, after)
  console.log('README.md benchmark block rewritten')
}
