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
