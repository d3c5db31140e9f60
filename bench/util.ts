/** Small helpers shared by the benchmarks. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {collect, figure, formatFigure, type FigureValue, ratio} from './record.js'

export type {FigureValue} from './record.js'

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ms: number; result: T}> {
  const start = process.hrtime.bigint()
  const result = await fn()
  return {ms: Number(process.hrtime.bigint() - start) / 1e6, result}
}

export function tempDir(prefix = 'mbx-bench-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** the middle value (of an even count, the mean of the two middle ones) */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
export const perSecond = (n: number, ms: number) => n / (ms / 1000)
export const rate = (n: number, ms: number) => perSecond(n, ms).toFixed(0)

/** an absolute figure; `report` prints it as `value unit  note` and records value and unit */
export const fig = (value: number, unit: string, note?: string, digits?: number) => figure(value, unit, note, digits)
/** a ratio where higher is better (a speed against a reference) */
export const higher = (value: number, opts?: {goal?: number; note?: string; digits?: number}) => ratio(value, 'higher', opts)
/** a ratio where lower is better (a time or a size against a reference) */
export const lower = (value: number, opts?: {goal?: number; note?: string; digits?: number}) => ratio(value, 'lower', opts)

/**
 * Prints one set of figures and, under `npm run bench`, records it (bench/record.ts). `part` is
 * a short stable name within the benchmark (the record's key with each ratio's label), `what`
 * the workload as words. An indented row is recorded under the unindented row above it.
 */
export function report(part: string, what: string, figures: Record<string, FigureValue>): void {
  console.log(`  ${what}`)
  for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(38)} ${formatFigure(v)}`)
  collect(part, what, figures)
}
