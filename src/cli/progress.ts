/**
 * Progress of long work on stderr (stdout stays the command's result, e.g. its --json): on a
 * terminal one line rewritten in place, otherwise (a log, a pipe) a line at most every few
 * seconds. Nothing at all for work that ends before the first report is due, unless `final`
 * asks for the finished line always (a line per stage of work that has several).
 */
export interface ProgressOptions {
  stream?: NodeJS.WritableStream & {isTTY?: boolean}
  everyMs?: number
  /** report the finished state even when the work ended before the first report */
  final?: boolean
  /** how counts and the rate are written (default: as numbers), e.g. formatSize for bytes */
  format?: (n: number) => string
}

/** `note` adds to the count, e.g. the bytes done */
export type Progress = (done: number, total: number, note?: string) => void

export function progressReporter(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const everyMs = options.everyMs ?? (tty ? 200 : 5000)
  const format = options.format ?? String
  const start = Date.now()
  let last = start
  let drawn = false
  return (done, total, note) => {
    const now = Date.now()
    const finished = done >= total
    if (!(now - last >= everyMs || (finished && (drawn || options.final)))) return
    last = now
    drawn = true
    const seconds = (now - start) / 1000
    // a rate over less than a second says nothing
    const rate = seconds >= 1 ? ` (${options.format ? format(done / seconds) : (done / seconds).toFixed(1)}/s)` : ''
    const text = `${label}: ${format(done)}/${format(total)}${note ? ` ${note}` : ''}${rate}`
    stream.write(tty ? `\r${text}${finished ? '\n' : ''}` : `${text}\n`)
  }
}
