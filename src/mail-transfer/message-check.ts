/**
 * The checks every imported message passes, whatever its container: it starts with a header
 * field (a non-message file, a binary, a truncated leftover does not), and it is not over the
 * size limit.
 */
import {formatSize} from '../size.js'

const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/

export const oversized = (size: number, maxSize: number): string => `over the size limit (${formatSize(size)} > ${formatSize(maxSize)})`

/** why `raw` is no message to store, or undefined */
export function refusalOf(raw: Buffer, maxSize: number): string | undefined {
  if (raw.length === 0) return 'empty'
  if (raw.length > maxSize) return oversized(raw.length, maxSize)
  const firstLine = raw.toString('latin1', 0, Math.min(raw.length, 1000)).split(/\r?\n/, 1)[0]!
  if (!FIELD_START.test(firstLine)) return 'not a message (it does not start with a header field)'
  return undefined
}

/** the byte offset where the header ends (the blank line's start), or the whole length */
function headerLength(raw: Buffer): number {
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    const next = raw[i + 1]
    if (next === 0x0a || (next === 0x0d && raw[i + 2] === 0x0a)) return i + 1
  }
  return raw.length
}

/**
 * Takes the top-level header fields named in `names` (lower case) out of the message, and
 * answers their values (the first of each, unfolded). The message is returned as it was when
 * none is there.
 */
export function takeFields(raw: Buffer, names: ReadonlySet<string>): {raw: Buffer; values: Map<string, string>} {
  const values = new Map<string, string>()
  const end = headerLength(raw)
  const header = raw.toString('latin1', 0, end)
  const lines = header.split(/(?<=\n)/)
  const kept: string[] = []
  let dropping = false
  let removed = false
  for (const line of lines) {
    if (line[0] === ' ' || line[0] === '\t') {
      if (!dropping) kept.push(line)
      continue
    }
    const colon = line.indexOf(':')
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : ''
    dropping = names.has(name)
    if (!dropping) {
      kept.push(line)
      continue
    }
    removed = true
    if (!values.has(name)) values.set(name, line.slice(colon + 1).trim())
  }
  if (!removed) return {raw, values}
  return {raw: Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(end)]), values}
}
