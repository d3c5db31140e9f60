import {describe, expect, it} from 'vitest'
import {LineSplitter, type Line} from '../../src/pop3/lines.js'

const texts = (lines: Line[]) => lines.map((l) => (l.kind === 'line' ? l.text.toString() : '<too-long>'))

describe('LineSplitter', () => {
  it('splits on LF, drops the CR, and joins lines split across chunks', () => {
    const s = new LineSplitter(100)
    expect(texts(s.push(Buffer.from('USER a\r\nPA')))).toEqual(['USER a'])
    expect(texts(s.push(Buffer.from('SS b c')))).toEqual([])
    expect(texts(s.push(Buffer.from('\r\nNOOP\nQUIT\r\n')))).toEqual(['PASS b c', 'NOOP', 'QUIT'])
    expect(texts(s.push(Buffer.from('\r\n')))).toEqual([''])
  })

  it('allows exactly max bytes, CRLF excluded', () => {
    const s = new LineSplitter(5)
    expect(texts(s.push(Buffer.from('12345\r\n123456\r\n')))).toEqual(['12345', '<too-long>'])
  })

  it('reports a long line once, as soon as it passes the limit, and skips the rest of it without keeping it', () => {
    const s = new LineSplitter(10)
    expect(texts(s.push(Buffer.from('x'.repeat(20))))).toEqual(['<too-long>'])
    for (let i = 0; i < 100; i++) expect(s.push(Buffer.alloc(1000, 0x79))).toEqual([])
    expect((s as unknown as {length: number}).length).toBe(0)
    expect(texts(s.push(Buffer.from('yyy\r\nCAPA\r\n')))).toEqual(['CAPA'])
  })

  it('reset forgets a partial line (STLS)', () => {
    const s = new LineSplitter(10)
    s.push(Buffer.from('injected'))
    s.reset()
    expect(texts(s.push(Buffer.from('CAPA\r\n')))).toEqual(['CAPA'])
  })
})
