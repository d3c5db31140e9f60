/** Small helpers shared by the benchmarks. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ms: number; result: T}> {
  const start = process.hrtime.bigint()
  const result = await fn()
  return {ms: Number(process.hrtime.bigint() - start) / 1e6, result}
}

export function tempDir(prefix = 'mbx-bench-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(0)

export function report(what: string, figures: Record<string, string | number>): void {
  console.log(`  ${what}`)
  for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(38)} ${v}`)
}
