/** The benchmark record (bench/record.ts): its line format, the comparison that flags a slip, the README block. */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {appendRecords, BEGIN, benchArgs, compare, END, finishBench, formatComparison, readmeTable, readRecords, type RecordLine, rewriteBlock, startBench} from '../../bench/record.js'
import {fig, higher, lower, report, tempDir} from '../../bench/util.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const cleanups: (() => void)[] = []
const temp = () => {
  const t = tempDir('mbx-bench-record-')
  cleanups.push(t.cleanup)
  return t.dir
}
afterEach(() => {
  vi.restoreAllMocks()
  for (const c of cleanups.splice(0)) c()
})

/** a record line with just what the comparison reads */
function line(bench: string, run: string, date: string, ratios: Record<string, [number, 'higher' | 'lower', number?]>, part = 'main', what = 'w'): RecordLine {
  return {
    bench,
    part,
    what,
    figures: [],
    ratios: Object.entries(ratios).map(([name, [value, better, goal]]) => ({name, value, better, ...(goal === undefined ? {} : {goal})})),
    machine: {cores: 2, cpu: 'cpu', loadavg: [3.5, 2, 1], node: 'v20.19.0'},
    git: {commit: `${run}000000000000`, dirty: false},
    date,
    run,
  }
}

describe('report and the record line', () => {
  it('prints as before and records figures with value and unit, ratios with direction and goal, the machine and the commit', () => {
    const printed: string[] = []
    vi.spyOn(console, 'log').mockImplementation((s: string) => void printed.push(s))
    startBench('foundation')
    report('puts', 'durable puts, 100 x 10 KiB', {
      workload: 'one put per commit',
      'LMDB await put': fig(1234.4, 'puts/s', '', 0),
      'ratio LMDB / raw fdatasync': higher(0.8123, {goal: 0.5}),
      'ratio time / reference': lower(1.5, {goal: 1.2}),
      'ratio without a peer': 'n/a',
      'with login': 'plain LOGIN',
      '  ratio mailbox / Dovecot': higher(2),
      'persistent sessions': '',
      '  ratio mailbox / Dovecot ': higher(3),
    })
    const [rec, ...more] = finishBench('run1', new Date('2026-12-04T18:00:00Z'))
    expect(more).toEqual([])
    expect(printed).toContain('    LMDB await put                         1234 puts/s')
    expect(printed).toContain('    ratio LMDB / raw fdatasync             0.81  (goal >= 0.5: met)')
    expect(printed).toContain('    ratio time / reference                 1.50  (goal <= 1.2: MISSED)')
    expect(rec).toMatchObject({bench: 'foundation', part: 'puts', what: 'durable puts, 100 x 10 KiB', date: '2026-12-04T18:00:00.000Z', run: 'run1'})
    expect(rec!.figures).toEqual([
      {name: 'workload', text: 'one put per commit'},
      {name: 'LMDB await put', value: 1234.4, unit: 'puts/s', text: '1234 puts/s'},
      {name: 'ratio without a peer', text: 'n/a'},
      {name: 'with login', text: 'plain LOGIN'},
    ])
    expect(rec!.ratios).toEqual([
      {name: 'ratio LMDB / raw fdatasync', value: 0.8123, better: 'higher', goal: 0.5, met: true},
      {name: 'ratio time / reference', value: 1.5, better: 'lower', goal: 1.2, met: false},
      {name: 'with login: ratio mailbox / Dovecot', value: 2, better: 'higher'},
      {name: 'persistent sessions: ratio mailbox / Dovecot', value: 3, better: 'higher'},
    ])
    expect(rec!.machine.cores).toBeGreaterThan(0)
    expect(rec!.machine.cpu).toBeTruthy()
    expect(rec!.machine.loadavg).toHaveLength(3)
    expect(rec!.machine.node).toBe(process.version)
    expect(rec!.git.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(typeof rec!.git.dirty).toBe('boolean')
  })

  it('records nothing outside a run, and round-trips through the JSON Lines file', () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    report('x', 'printed only', {'ratio a': higher(1)})
    expect(finishBench('r')).toEqual([])
    const file = join(temp(), 'results', 'records.jsonl')
    expect(readRecords(file)).toEqual([])
    const lines = [line('cli', 'a', '2026-12-01T10:00:00Z', {r: [1, 'lower']}), line('cli', 'b', '2026-12-02T10:00:00Z', {r: [2, 'lower']})]
    appendRecords(lines.slice(0, 1), file)
    appendRecords(lines.slice(1), file)
    expect(readRecords(file)).toEqual(lines)
  })
})

describe('compare', () => {
  const history = [
    line('imap', 'r1', '2026-12-01T10:00:00Z', {speed: [1.0, 'higher', 1], time: [0.5, 'lower'], steady: [2, 'higher']}),
    line('smtp', 'r1', '2026-12-01T10:00:00Z', {e2e: [4.2, 'higher', 4]}),
    line('imap', 'r2', '2026-12-02T10:00:00Z', {speed: [0.79, 'higher', 1], time: [0.61, 'lower'], steady: [1.7, 'higher'], fresh: [3, 'higher']}),
  ]

  it('flags a ratio more than 20 % worse in its own direction, and shows a new one as new', () => {
    const rows = compare(history, ['imap'])
    const by = Object.fromEntries(rows.map((r) => [r.name, r]))
    expect(Object.keys(by).sort()).toEqual(['fresh', 'speed', 'steady', 'time'])
    expect(by.speed).toMatchObject({slipped: true, latest: {value: 0.79}, previous: {value: 1.0, commit: 'r1000000000000'}})
    expect(by.time).toMatchObject({slipped: true, previous: {value: 0.5}}) // lower is better: 0.61 is 22 % more
    expect(by.steady).toMatchObject({slipped: false}) // 15 % worse: within the margin
    expect(by.fresh!.previous).toBeUndefined()
    expect(by.fresh!.slipped).toBe(false)
    const text = formatComparison(rows)
    expect(text).toMatch(/speed\s+0\.79\s+was 1\.00\s+SLIP -21%/)
    expect(text).toMatch(/time\s+0\.61\s+was 0\.50\s+SLIP -22%/)
    expect(text).toMatch(/steady\s+1\.70\s+was 2\.00\s+-15%/)
    expect(text).toMatch(/fresh\s+3\.00\s+new/)
    expect(text).toContain('2 ratio(s) slipped')
  })

  it('does not flag a ratio that got better in either direction, and takes the latest run per benchmark', () => {
    const better = [...history, line('imap', 'r3', '2026-12-03T10:00:00Z', {speed: [1.2, 'higher'], time: [0.3, 'lower']})]
    const rows = compare(better)
    expect(rows.filter((r) => r.bench === 'imap').map((r) => [r.name, r.previous?.value, r.slipped])).toEqual([
      ['speed', 0.79, false],
      ['time', 0.61, false],
    ])
    expect(rows.find((r) => r.bench === 'smtp')).toMatchObject({name: 'e2e', slipped: false})
    expect(rows.find((r) => r.bench === 'smtp')!.previous).toBeUndefined()
    expect(formatComparison(rows)).toContain('no ratio slipped')
  })

  it('goes by date, not by file order (a union merge appends one branch after the other)', () => {
    const merged = [history[2]!, history[0]!, history[1]!]
    expect(compare(merged, ['imap']).find((r) => r.name === 'speed')).toMatchObject({latest: {value: 0.79}, previous: {value: 1.0}, slipped: true})
  })

  it('compares a ratio only with records of the same workload', () => {
    const small = [...history, line('imap', 'r3', '2026-12-03T10:00:00Z', {speed: [0.1, 'higher']}, 'main', 'w, 10 messages')]
    const [row] = compare(small, ['imap'])
    expect(row).toMatchObject({name: 'speed', slipped: false, otherWorkload: true})
    expect(row!.previous).toBeUndefined()
    expect(formatComparison([row!])).toContain('new (earlier records: another workload)')
  })

  it('`npm run bench -- --compare` exits non-zero when a ratio slipped, zero otherwise', () => {
    const file = join(temp(), 'records.jsonl')
    const runCompare = (...names: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--compare', ...names], {cwd: REPO, encoding: 'utf8', env: {...process.env, BENCH_RECORD_FILE: file}})
    writeFileSync(file, history.map((l) => JSON.stringify(l) + '\n').join(''))
    const slipped = runCompare('imap')
    expect(slipped.stdout).toContain('SLIP')
    expect(slipped.status).toBe(1)
    const held = runCompare('smtp')
    expect(held.stdout).toMatch(/e2e\s+4\.20\s+new/)
    expect(held.status).toBe(0)
  })
})

describe('npm run bench arguments', () => {
  const known = ['foundation', 'imap', 'smtp']
  it('runs all, the named ones, or none with --compare alone; compares what ran or the names after --compare', () => {
    expect(benchArgs([], {}, known)).toEqual({run: known, record: true, unknown: []})
    expect(benchArgs(['imap', '--compare'], {}, known)).toEqual({run: ['imap'], compare: ['imap'], record: true, unknown: []})
    expect(benchArgs(['--compare'], {}, known)).toEqual({run: [], compare: [], record: true, unknown: []})
    expect(benchArgs(['--compare', 'smtp', 'imap'], {}, known)).toEqual({run: [], compare: ['smtp', 'imap'], record: true, unknown: []})
    expect(benchArgs(['smtp', 'nope'], {}, known).unknown).toEqual(['nope'])
  })

  it('skips writing with --no-record or BENCH_NO_RECORD', () => {
    expect(benchArgs(['imap', '--no-record'], {}, known).record).toBe(false)
    expect(benchArgs(['imap'], {BENCH_NO_RECORD: '1'}, known).record).toBe(false)
  })
})

describe('the README block', () => {
  const readme = `# x\n\n## Benchmarks\n\nprose\n\n${BEGIN}\nold figures\n${END}\n\nmore prose\n`

  it('rewrites only the marked block, idempotently', () => {
    const table = readmeTable([line('cli', 'r1', '2026-12-01T10:00:00Z', {'ratio binary --version / node -e 0': [1.17, 'lower', 1.5]}, 'startup')])
    expect(table).toContain('| cli | startup | ratio binary --version / node -e 0 | 1.17 | ≤ 1.5 met | lower | r1000000 | 2026-12-01 10:00 | 3.5 / 2 |')
    expect(table).toContain('loaded machine')
    const once = rewriteBlock(readme, table)
    expect(once).not.toContain('old figures')
    expect(once.startsWith('# x\n\n## Benchmarks\n\nprose\n\n')).toBe(true)
    expect(once.endsWith(`${END}\n\nmore prose\n`)).toBe(true)
    expect(rewriteBlock(once, table)).toBe(once)
  })

  it('refuses a README without the markers', () => {
    expect(() => rewriteBlock('# x\nno block\n', 'table')).toThrow(/bench:begin/)
    expect(() => rewriteBlock(`${END}\n${BEGIN}\n`, 'table')).toThrow(/bench:begin/)
  })
})
