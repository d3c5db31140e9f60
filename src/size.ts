/** Human sizes for flags and tables: `2G`, `512M`, `25MiB`, `1.5k`. Binary multiples (1K = 1024). */
import {MailboxError} from './errors.js'

const UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4}

export function parseSize(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(input)
  if (!m) {
    if (/^\s*(unlimited|none)\s*$/i.test(input)) return 0
    throw new MailboxError('invalid', `invalid size: ${JSON.stringify(input)} (use e.g. 500M, 2G, 0 for unlimited)`)
  }
  const bytes = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!)
  if (!Number.isSafeInteger(bytes)) throw new MailboxError('invalid', `size too large: ${JSON.stringify(input)}`)
  return bytes
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`
  const units = ['K', 'M', 'G', 'T']
  let v = bytes
  let i = -1
  // 1023.96K reads better as 1M: promote when the rounded figure would show 1024
  while (Math.round(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10}${units[i]}`
}
