import {describe, expect, it} from 'vitest'
import {displayWidth, padCells} from '../../src/cli/display-width.js'
import {formatTable} from '../../src/cli/table.js'

describe('displayWidth', () => {
  it('counts terminal cells: ASCII 1, CJK, Hangul, fullwidth and emoji 2, combining marks and joiners 0', () => {
    expect(displayWidth('hello')).toBe(5)
    expect(displayWidth('日本語')).toBe(6)
    expect(displayWidth('한국어')).toBe(6)
    expect(displayWidth('ＡＢ')).toBe(4)
    expect(displayWidth('😀')).toBe(2)
    expect(displayWidth('e\u0301')).toBe(1) // e + combining acute
    expect(displayWidth('Jörg')).toBe(4)
    expect(displayWidth('👩\u200d💻')).toBe(4) // two emoji joined: terminals differ, never less than 2
    expect(displayWidth('☕\ufe0f')).toBe(2)
    expect(displayWidth('a\tb')).toBe(2) // control characters take no cell
  })

  it('pads to a width in cells', () => {
    expect(padCells('日本', 6)).toBe('日本  ')
    expect(padCells('abc', 2)).toBe('abc')
  })
})

describe('formatTable', () => {
  it('lays out 200,000 rows without overflowing the stack', () => {
    const rows = Array.from({length: 200_000}, (_, i) => ({uid: i + 1, subject: `message ${i + 1}`}))
    const text = formatTable(rows, [
      {header: 'uid', get: (r) => r.uid},
      {header: 'subject', get: (r) => r.subject},
    ])
    const lines = text.split('\n')
    expect(lines).toHaveLength(200_001)
    expect(lines[0]).toBe('UID     SUBJECT')
    expect(lines[200_000]).toBe('200000  message 200000')
  })

  it('aligns the column after a CJK or emoji cell by display width', () => {
    const rows = [
      {subject: '会議の議事録', from: 'a@example.com'},
      {subject: 'plain', from: 'b@example.com'},
      {subject: 'party 🎉', from: 'c@example.com'},
      {subject: 'café', from: 'd@example.com'}, // e + combining acute
    ]
    const lines = formatTable(rows, [
      {header: 'subject', get: (r) => r.subject},
      {header: 'from', get: (r) => r.from},
    ]).split('\n')
    // every FROM value starts at the same terminal column
    const columns = lines.map((l) => displayWidth(l.slice(0, l.search(/\S+@example\.com$|FROM$/))))
    expect(new Set(columns).size).toBe(1)
    expect(columns[0]).toBe(12 + 2)
  })
})
