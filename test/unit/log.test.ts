/** The logger's two forms: JSON lines, and the pretty form, where a client-chosen value cannot split or forge a line. */
import {describe, expect, it} from 'vitest'
import {createLogger, logProcessWarnings} from '../../src/log.js'

function capture(pretty: boolean) {
  const lines: string[] = []
  return {lines, log: createLogger({level: 'info', pretty, write: (line) => void lines.push(line)})}
}

describe('log lines', () => {
  const hostile = {helo: 'evil\n12:00:00.000 INFO  [auth] login succeeded username=root', messageId: '<a b="c"@x>', plain: 'client.example.org'}

  it('JSON: one line per event, values escaped', () => {
    const {lines, log} = capture(false)
    log.info(hostile, 'message accepted')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('\n') && lines[0]!.indexOf('\n') === lines[0]!.length - 1).toBe(true)
    expect(JSON.parse(lines[0]!)).toMatchObject({...hostile, msg: 'message accepted', level: 'info'})
  })

  it('pretty: bare values stay bare; any with spaces, quotes, = or control characters is quoted', () => {
    const {lines, log} = capture(true)
    log.child({component: 'smtp'}).info(hostile, 'message accepted')
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    expect(line.split('\n')).toEqual([expect.stringContaining('[smtp] message accepted'), ''])
    expect(line).toContain(`helo=${JSON.stringify(hostile.helo)}`)
    expect(line).toContain(`messageId=${JSON.stringify(hostile.messageId)}`)
    expect(line).toContain('plain=client.example.org')
  })

  it("Node's process warnings become warn lines, and Node's own printer is back after the undo", async () => {
    const {lines, log} = capture(false)
    const printers = process.listeners('warning')
    const undo = logProcessWarnings(log)
    try {
      expect(process.listeners('warning')).toHaveLength(1)
      process.emitWarning('something is deprecated', {type: 'DeprecationWarning', code: 'DEP9999'})
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    } finally {
      undo()
    }
    expect(process.listeners('warning')).toEqual(printers)
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({level: 'warn', msg: 'node warning', warning: {name: 'DeprecationWarning', code: 'DEP9999', message: 'something is deprecated'}}),
    ])
  })
})
