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
  /** how counts are shown (e.g. formatSize for bytes); default: as numbers */
  unit?: (n: number) => string
  /** add the estimated time left, from the rate so far */
  eta?: boolean
}

/** `note` adds to the count, e.g. the bytes done */
export type Progress = (done: number, total: number, note?: string) => void

export function progressReporter(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const everyMs = options.everyMs ?? (tty ? 200 : 5000)
  const start = Date.now()
  let last = start
  let drawn = false
  // the finished line is the last: calls after it (work still settling) add nothing
  let ended = false
  return (done, total, note) => {
    const now = Date.now()
    const finished = done >= total
    if (ended || !(now - last >= everyMs || (finished && (drawn || options.final)))) return
    ended = finished
    last = now
    drawn = true
    const seconds = (now - start) / 1000
    const unit = options.unit
    // a rate over less than a second says nothing
    const perSecond = done / seconds
    const rate = seconds >= 1 ? ` (${unit ? unit(Math.round(perSecond)) : perSecond.toFixed(1)}/s${options.eta && !finished && perSecond > 0 ? `, ETA ${formatEta((total - done) / perSecond)}` : ''})` : ''
    const text = `${label}: ${unit ? `${unit(done)}/${unit(total)}` : `${done}/${total}`}${note ? ` ${note}` : ''}${rate}`
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
