/** Durations for flags: `30s`, `2m`, `1h`, `500ms`, or plain seconds. */
import {MailboxError} from './errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000}

export function parseDuration(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/i.exec(input)
  if (!m) throw new MailboxError('invalid', `invalid duration ${JSON.stringify(input)} (use e.g. 30s, 2m, 1h)`)
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!)
}
