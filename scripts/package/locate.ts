/**
 * The single executable for the smoke test and the `cli` benchmark: out/mailbox-<version>-linux-x64,
 * built by `npm run package` unless out/ already holds one built from the same sources (its
 * `.source-hash` file matches, see source-hash.ts).
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
  const r = spawnSync('npm', ['run', 'package'], {cwd: repo, encoding: 'utf8', timeout: timeoutMs})
  if (r.status !== 0 || !fresh()) throw new Error(`npm run package failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return binary
}
