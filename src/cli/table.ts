/** Plain aligned tables for human output (the --json form carries the same data). */
import {displayWidth, padCells} from './display-width.js'

export interface Column<T> {
  header: string
  get: (row: T) => string | number | boolean | undefined
}

/**
 * Columns are as wide as their widest cell in terminal cells (a CJK character or an emoji takes
 * two). Widths are found with a loop, never `Math.max(...cells)`: a spread of 200,000 values
 * overflows the call stack.
 */
export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => String(c.get(row) ?? '')))
  const widths = columns.map((c) => c.header.length)
  for (const row of cells) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i]!, displayWidth(row[i]!))
  }
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : padCells(v, widths[i]!))).join('  ').trimEnd()
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n')
}

export const formatTime = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '')
