/** The progress of `mailbox backup` and `restore`: sizes and a bar, one line rewritten on a terminal. */
import {describe, expect, it} from 'vitest'
import {bytesProgress} from '../../src/cli/bytes-progress.js'

const sink = (isTTY: boolean) => {
  const out: string[] = []
  return {out, stream: {isTTY, write: (text: string) => out.push(text)} as unknown as NodeJS.WriteStream}
}

describe('bytesProgress', () => {
  it('draws a bar with sizes on a terminal, rewriting one line and ending it at the total', () => {
    const tty = sink(true)
    const report = bytesProgress('backup', {stream: tty.stream, everyMs: 0})
    report(0, 4 * 1024 * 1024)
    report(1024 * 1024, 4 * 1024 * 1024)
    report(4 * 1024 * 1024, 4 * 1024 * 1024)
    expect(tty.out).toEqual([
      '\rbackup: 0B/4M [........................] 0%',
      '\rbackup: 1M/4M [######..................] 25%',
      '\rbackup: 4M/4M [########################] 100%\n',
    ])
  })

  it('writes whole lines to a log, and nothing for work shorter than the first report', () => {
    const log = sink(false)
    const report = bytesProgress('restore', {stream: log.stream, everyMs: 0})
    report(512, 2048)
    expect(log.out).toEqual(['restore: 512B/2K [######..................] 25%\n'])
    const quiet = sink(false)
    const short = bytesProgress('restore', {stream: quiet.stream, everyMs: 60_000})
    short(2048, 2048)
    expect(quiet.out).toEqual([])
  })
})
