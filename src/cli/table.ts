/** Plain aligned tables for human output (the --json form carries the same data). */
export interface Column<T> {
  header: string
  get: (row: T) => string | number | boolean | undefined
}

export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => String(c.get(row) ?? '')))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n')
}

export const formatTime = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '')
