/**
 * Progress of long work on stderr (stdout stays the command's result, e.g. its --json): on a
 * terminal one line rewritten in place, otherwise (a log, a pipe) a line at most every few
 * seconds. Nothing at all for work that ends before the first report is due.
 */
export function progressReporter(label: string, options: {stream?: NodeJS.WriteStream; everyMs?: number} = {}): (done: number, total: number) => void {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const everyMs = options.everyMs ?? (tty ? 200 : 5000)
  const start = Date.now()
  let last = start
  let drawn = false
  return (done, total) => {
    const now = Date.now()
    const finished = done >= total
    if (!(now - last >= everyMs || (finished && drawn))) return
    last = now
    drawn = true
    const rate = done / Math.max((now - start) / 1000, 0.001)
    const text = `${label}: ${done}/${total} (${rate.toFixed(1)}/s)`
    stream.write(tty ? `\r${text}${finished ? '\n' : ''}` : `${text}\n`)
  }
}
