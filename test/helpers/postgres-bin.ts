/**
 * Where PostgreSQL's programs are, with nothing else loaded: vitest.config.ts asks it too (whether
 * the backend matrix can run), before any test module.
 */
import {existsSync, readdirSync, realpathSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'

/**
 * The directory holding `initdb` and `pg_ctl`: the one `initdb` on PATH comes from (a symlink is
 * followed to its real directory, where its `postgres` and `pg_ctl` live), else Debian's layout
 * `<debianRoot>/<major>/bin` with the newest major. Undefined when there is none.
 */
export function findPostgresBin(path = process.env.PATH ?? '', debianRoot = '/usr/lib/postgresql'): string | undefined {
  const complete = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const initdb = join(dir, 'initdb')
    if (!existsSync(initdb)) continue
    const real = dirname(realpathSync(initdb))
    if (complete(real)) return real
  }
  let majors: string[] = []
  try {
    majors = readdirSync(debianRoot).filter((name) => /^\d+$/.test(name))
  } catch {
    return undefined
  }
  for (const major of majors.sort((a, b) => Number(b) - Number(a))) {
    const dir = join(debianRoot, major, 'bin')
    if (complete(dir)) return dir
  }
  return undefined
}
