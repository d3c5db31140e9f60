/**
 * Helpers for the single-executable smoke test: find or build the binary, and a PATH without
 * node for the processes started from it.
 */
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {afterAll} from 'vitest'
import {singleExecutable as locate} from '../../scripts/package/locate.js'
import {ROOT} from '../helpers/cli.js'

/** building the binary took ~40 s here on a loaded 2-core machine (esbuild, SEA blob, postject of 140 MB) */
export const BUILD_TIMEOUT_MS = 240_000

/** the binary, built unless out/ has one of the same sources (scripts/package/locate.ts) */
export const singleExecutable = (): string => locate(ROOT, BUILD_TIMEOUT_MS - 10_000)

const NODE_PROGRAMS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack'])

/**
 * This PATH with node taken out: each PATH dir holding `node` is replaced by a temporary dir of
 * symlinks to everything else in it (tmux, sh, … stay reachable). Removed after the test file.
 */
export function pathWithoutNode(path = process.env.PATH ?? ''): string {
  const shims = mkdtempSync(join(tmpdir(), 'mbx-nonode-'))
  afterAll(() => rmSync(shims, {recursive: true, force: true}))
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir, i) => {
      if (!existsSync(join(dir, 'node')) && !existsSync(join(dir, 'nodejs'))) return dir
      const shim = join(shims, String(i))
      mkdirSync(shim)
      for (const name of readdirSync(dir)) if (!NODE_PROGRAMS.has(name)) symlinkSync(join(dir, name), join(shim, name))
      return shim
    })
    .join(delimiter)
}
