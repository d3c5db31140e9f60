/**
 * The hash of everything the single executable is built from (sources, the lock file, this
 * build's own scripts): build.ts writes it next to the binary, and the smoke test rebuilds only
 * when it differs (test/e2e/sea-helpers.ts).
 */
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

/** node_modules under these (the runtime in scripts/package/node-runtime/) are left out: its lock is in */
const INPUTS = ['package.json', 'package-lock.json', 'bin', 'src', 'commands', 'tui', 'scripts/package']

export function sourceHash(repo: string): string {
  const h = createHash('sha256')
  for (const input of INPUTS) {
    const path = join(repo, input)
    const files = statSync(path).isDirectory()
      ? readdirSync(path, {recursive: true, encoding: 'utf8'}).map((f) => join(input, f)).filter((f) => !f.includes('node_modules')).filter((f) => statSync(join(repo, f)).isFile()).sort()
      : [input]
    for (const file of files) h.update(file).update('\0').update(readFileSync(join(repo, file))).update('\0')
  }
  return h.digest('hex')
}

export const binaryName = (version: string) => `mailbox-${version}-linux-x64`
/** Debian's name for it: package_version_architecture.deb */
export const debName = (version: string) => `mailbox_${version}_amd64.deb`
