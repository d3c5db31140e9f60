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
  /** add the estimated time left, from the rate so far */
  eta?: boolean
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
  /** the counts of the finished line written: the same counts again (work still settling) add no line */
  let ended: string | undefined
  return (done, total, note) => {
    const now = Date.now()
    const finished = done >= total
    if (finished && ended === `${done}/${total}`) return
    if (!(now - last >= everyMs || (finished && (drawn || options.final)))) return
    if (finished) ended = `${done}/${total}`
    last = now
    drawn = true
    const seconds = (now - start) / 1000
    const perSecond = done / seconds
    // a rate over less than a second says nothing
    const eta = options.eta && !finished && perSecond > 0 ? `, ETA ${formatEta((total - done) / perSecond)}` : ''
    const rate = seconds >= 1 ? ` (${options.format ? format(perSecond) : perSecond.toFixed(1)}/s${eta})` : ''
    const text = `${label}: ${format(done)}/${format(total)}${note ? ` ${note}` : ''}${rate}`
    stream.write(tty ? `\r${text}${finished ? '\n' : ''}` : `${text}\n`)
  }
}

/** 42s, 3m05s, 2h07m */
export function formatEta(seconds: number): string {
  const s = Math.ceil(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
