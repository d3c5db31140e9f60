/**
 * A test whose precondition (a program, root, a free privileged port) is missing may skip on a
 * developer's machine, never in CI: `.ci/run` provides every one, so there its absence fails the
 * test instead of hiding it.
 */
import {spawnSync} from 'node:child_process'

export const IN_CI = process.env.CI === 'true'

/** a program found on PATH (never at one hard-coded path) */
export const onPath = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`], {stdio: 'ignore'}).status === 0

/** for `it.skipIf(...)` / `describe.skipIf(...)`: skip only outside CI; pair it with `requireInCi` */
export const missingOutsideCi = (available: boolean): boolean => !available && !IN_CI

/** in CI, fails the running test (or suite, from a hook) when its precondition is missing */
export function requireInCi(available: boolean, what: string): void {
  if (!available && IN_CI) throw new Error(`${what} (CI=true: .ci/run must provide it)`)
}

/**
 * The first `python3` on PATH that can import `module` (a Debian package's module lives in the
 * system interpreter's dist-packages, which a pyenv or venv python3 earlier on PATH cannot see).
 */
export function pythonWith(module: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const python = `${dir}/python3`
    if (spawnSync(python, ['-c', `import ${module}`], {stdio: 'ignore'}).status === 0) return python
  }
  return undefined
}
