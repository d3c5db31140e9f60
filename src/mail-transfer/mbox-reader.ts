/**
 * Reads an mbox file as a stream, one message at a time (memory: the message being read, at most
 * the size limit; an oversized one is counted and skipped, never held). A line is held whole only
 * while it may still be a From_ line; past MAX_HELD_LINE bytes it is body text and goes to the
 * message as it comes, so a file of one endless line costs neither memory nor quadratic copying.
 *
 * A message starts at a `From ` line at the start of the file or after an empty line (the
 * separator of every writer); Content-Length fields are not trusted (they are wrong as often as
 * they are there). The empty line before the next `From ` line belongs to the file, not the
 * message. A body line that began with `From ` was escaped by the writer, which way depends on
 * the variant:
 * - mboxrd: `>*From ` got one more `>`; reading takes one `>` off every `>+From ` line: lossless.
 * - mboxo: only `From ` got a `>`; reading takes the `>` off `>From ` (exactly one): a body line
 *   that really began with `>From ` comes back as `From ` (the variant cannot tell them apart).
 * `mailbox export` writes mboxrd and says so in its From_ lines' sender (MBOXRD_SENDER), which
 * is how `auto` tells; any other file is read as mboxo, what most writers (Python's `mailbox`,
 * mutt, Thunderbird) produce.
 */
import {createReadStream} from 'node:fs'
import {MailboxError} from '../errors.js'
import type {ReadOptions, SourceItem} from './items.js'
import {flagsOfMboxFields, MBOX_META_FIELDS} from './flags.js'
import {toStoredForm} from './line-ends.js'
import {oversized, refusalOf, takeFields} from './message-check.js'

export type MboxVariant = 'mboxrd' | 'mboxo'
export const MBOX_VARIANTS = ['auto', 'mboxrd', 'mboxo'] as const
/** the envelope sender of `mailbox export`'s From_ lines: the file is mboxrd */
export const MBOXRD_SENDER = 'mboxrd@mailbox.invalid'

const FROM = Buffer.from('From ')
/** a partial line longer than this is no From_ line (those are short): it is not held to be looked at */
export const MAX_HELD_LINE = 64 * 1024
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** the date of a From_ line (`From sender Www Mmm dd hh:mm:ss yyyy`, UTC unless a zone follows the time) */
export function fromLineDate(line: string): number | undefined {
  const m = /([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d\d)(?::(\d\d))? +(?:([+-]\d{4}|[A-Z]{3,4}) +)?(\d{4})(?: +([+-]\d{4}))?\s*$/.exec(line)
  if (!m) return undefined
  const month = MONTHS.indexOf(m[1]!)
  if (month < 0) return undefined
  let t = Date.UTC(Number(m[7]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 0))
  const zone = /^[+-]\d{4}$/.test(m[6] ?? '') ? m[6]! : m[8]
  if (zone) t -= (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3))) * 60_000
  return Number.isFinite(t) ? t : undefined
}

/** `From SENDER asctime-date` for `date` */
export function fromLine(sender: string, date: number): string {
  const d = new Date(date)
  const pad = (n: number) => String(n).padStart(2, '0')
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]
  return `From ${sender} ${day} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`
}

/** one `>` off the escaped From lines of the variant */
export function unescapeFrom(message: Buffer, variant: MboxVariant): Buffer {
  if (!message.includes('>From ')) return message
  const text = message.toString('latin1')
  const out = variant === 'mboxrd' ? text.replace(/^>(>*From )/gm, '$1') : text.replace(/^>From /gm, 'From ')
  return Buffer.from(out, 'latin1')
}

/** the variant `auto` means for a file whose first From_ line is `line` */
export const detectVariant = (line: string): MboxVariant => (line.split(' ')[1] === MBOXRD_SENDER ? 'mboxrd' : 'mboxo')

interface Pending {
  fromLine: string
  offset: number
  parts: Buffer[]
  size: number
}

/**
 * The messages of the mbox at `path` for `folder`. `variant`: how `>From ` lines are read
 * (`auto`: see above); `onVariant` hears the one used. A file that does not start with a From_
 * line is refused whole (`invalid`): it is no mbox.
 */
export async function* readMbox(
  path: string,
  folder: string,
  variant: MboxVariant | 'auto',
  options: ReadOptions & {onVariant?: (v: MboxVariant) => void},
): AsyncGenerator<SourceItem> {
  let used: MboxVariant | undefined = variant === 'auto' ? undefined : variant
  let pending: Pending | undefined
  let carry: Buffer = Buffer.alloc(0)
  /** the file offset of buf[0] */
  let base = 0
  let prevBlank = true
  let sawAnything = false
  /** buf[0] continues a line too long to be held (see MAX_HELD_LINE): its start was looked at already */
  let midLine = false

  const finish = (p: Pending, truncated: boolean): SourceItem => {
    let message = p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts)
    // the separator line before the next From_ line (at the end, when the writer put one)
    if (message.length >= 2 && message[message.length - 1] === 0x0a) {
      if (message[message.length - 2] === 0x0a) message = message.subarray(0, message.length - 1)
      else if (message[message.length - 2] === 0x0d && message[message.length - 3] === 0x0a) message = message.subarray(0, message.length - 2)
    }
    const where = `${path} at byte ${p.offset}`
    if (truncated) return {kind: 'refused', folder, where, reason: 'truncated: the file ends inside this message'}
    if (p.size > options.maxSize) return {kind: 'refused', folder, where, reason: oversized(p.size, options.maxSize)}
    const {raw, values} = takeFields(unescapeFrom(message, used!), MBOX_META_FIELDS)
    const why = refusalOf(raw, options.maxSize)
    if (why) return {kind: 'refused', folder, where, reason: why}
    const date = fromLineDate(p.fromLine)
    return {
      kind: 'message',
      folder,
      raw: toStoredForm(raw),
      flags: flagsOfMboxFields({status: values.get('status'), xStatus: values.get('x-status'), xKeywords: values.get('x-keywords')}),
      ...(date !== undefined ? {internalDate: date} : {}),
      where,
    }
  }

  /** bytes reported to onBytes: those of the messages handed on (progress follows the import, not the read-ahead) */
  let reported = 0
  const consumed = (offset: number) => {
    options.onBytes?.(offset - reported)
    reported = offset
  }
  for await (const chunk of createReadStream(path, {highWaterMark: 1024 * 1024})) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer)
    let lineStart = 0
    let segStart = 0
    const keep = (end: number) => {
      if (!pending || end <= segStart) return
      // an oversized message is only counted: its bytes are never held
      if (pending.size <= options.maxSize) pending.parts.push(buf.subarray(segStart, end))
      pending.size += end - segStart
      if (pending.size > options.maxSize) pending.parts = []
    }
    for (let nl = buf.indexOf(0x0a, lineStart); nl !== -1; nl = buf.indexOf(0x0a, lineStart)) {
      if (midLine) {
        midLine = false
        prevBlank = false
        lineStart = nl + 1
        continue
      }
      if (prevBlank && buf[lineStart] === 0x46 && buf.compare(FROM, 0, 5, lineStart, lineStart + 5) === 0) {
        keep(lineStart)
        if (pending) {
          consumed(base + lineStart)
          yield finish(pending, false)
        }
        else if (sawAnything) throw notMbox(path)
        const line = buf.toString('latin1', lineStart, nl).replace(/\r$/, '')
        if (!pending) {
          used ??= detectVariant(line)
          options.onVariant?.(used)
        }
        pending = {fromLine: line, offset: base + lineStart, parts: [], size: 0}
        segStart = nl + 1
      } else if (!pending && nl > lineStart) {
        // text before the first From_ line: no mbox (an empty line or two is tolerated)
        if (!(nl === lineStart + 1 && buf[lineStart] === 0x0d)) sawAnything = true
        if (sawAnything) throw notMbox(path)
      }
      prevBlank = nl === lineStart || (nl === lineStart + 1 && buf[lineStart] === 0x0d)
      lineStart = nl + 1
    }
    if (buf.length - lineStart > MAX_HELD_LINE) {
      // before the first From_ line such a line is text, not an mbox; in a message it is body text
      if (!pending) throw notMbox(path)
      lineStart = buf.length
      midLine = true
    }
    keep(lineStart)
    carry = Buffer.from(buf.subarray(lineStart))
    base += lineStart
  }
  if (pending) {
    consumed(base + carry.length)
    // bytes after the last newline: the file was cut inside a line
    yield finish(pending, carry.length > 0 || midLine)
  } else if (carry.length) throw notMbox(path)
}

const notMbox = (path: string) => new MailboxError('invalid', `${path} is not an mbox file: it does not start with a "From " line`)
