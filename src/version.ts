/** The package version, read once from package.json (found upward from here, in src/ or dist/src/), or built in. */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (!existsSync(file)) continue
    const pjson = JSON.parse(readFileSync(file, 'utf8')) as {name?: string; version?: string}
    if (pjson.name === 'mailbox') return pjson.version ?? '0.0.0'
  }
  return '0.0.0'
}

/** Set by the single-executable build (scripts/package/build.ts), which has no package.json to read. */
declare const MAILBOX_VERSION: string | undefined

export const VERSION = typeof MAILBOX_VERSION === 'string' ? MAILBOX_VERSION : findVersion()
