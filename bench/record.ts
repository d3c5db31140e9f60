/**
 * The benchmark record: every `report()` of a run becomes one JSON line in
 * bench/results/records.jsonl (committed, so the history travels with the repo), and
 * `--compare` lines each ratio up with the previous record of the same benchmark and ratio.
 * A ratio is measured against a reference in the same run, so it is what can be compared across
 * runs and machines; absolutes are kept for context.
 */
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {availableParallelism, cpus, loadavg} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** BENCH_RECORD_FILE points elsewhere (tests, a scratch record) */
export const RECORD_FILE = process.env.BENCH_RECORD_FILE || join(dirname(fileURLToPath(import.meta.url)), 'results', 'records.jsonl')
/** a ratio worse than the previous one by more than this share (in its own direction) slipped */
export const SLIP = 0.2

export type Better = 'higher' | 'lower'
/** an absolute figure: printed as `value unit  note` */
export interface Figure {kind: 'figure'; value: number; unit: string; note?: string; digits?: number}
/** a ratio against a reference measured in the same run */
export interface Ratio {kind: 'ratio'; value: number; better: Better; goal?: number; note?: string; digits?: number}
export type FigureValue = string | number | Figure | Ratio

export interface RecordLine {
  bench: string
  part: string
  what: string
  figures: {name: string; value?: number; unit?: string; text: string}[]
  ratios: {name: string; value: number; better: Better; goal?: number; met?: boolean}[]
  machine: {cores: number; cpu: string; loadavg: number[]; node: string}
  git: {commit: string; dirty: boolean}
  date: string
  /** one id per `npm run bench` process: the lines of one run share it */
  run: string
}

export const figure = (value: number, unit: string, note?: string, digits?: number): Figure => ({kind: 'figure', value, unit, note, digits})
export const ratio = (value: number, better: Better, opts: {goal?: number; note?: string; digits?: number} = {}): Ratio => ({kind: 'ratio', value, better, ...opts})

export const goalMet = (r: Pick<Ratio, 'value' | 'better' | 'goal'>) => (r.goal === undefined ? undefined : r.better === 'higher' ? r.value >= r.goal : r.value <= r.goal)

const defaultDigits = (v: number) => (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)

/** how a figure reads on the terminal (and in the record's `text`) */
export function formatFigure(v: FigureValue): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v)
  const n = Number.isFinite(v.value) ? v.value.toFixed(v.digits ?? (v.kind === 'ratio' ? 2 : defaultDigits(v.value))) : 'n/a'
  if (v.kind === 'figure') return `${n} ${v.unit}${v.note ? `  ${v.note}` : ''}`
  const met = goalMet(v)
  const goal = met === undefined ? '' : `  (goal ${v.better === 'higher' ? '>=' : '<='} ${v.goal}: ${met ? 'met' : 'MISSED'})`
  return `${n}${v.note ? `  ${v.note}` : ''}${goal}`
}

/**
 * Names as recorded: trimmed; an indented row is named after the last unindented row above it
 * (`header: row`), so the same label under two headers stays two figures. A row whose value is
 * '' only heads the rows under it.
 */
export function toLine(part: string, what: string, figures: Record<string, FigureValue>): Pick<RecordLine, 'part' | 'what' | 'figures' | 'ratios'> {
  const line: Pick<RecordLine, 'part' | 'what' | 'figures' | 'ratios'> = {part, what, figures: [], ratios: []}
  let header = ''
  for (const [key, v] of Object.entries(figures)) {
    const indented = /^\s/.test(key)
    if (!indented) header = key.trim()
    if (v === '') continue
    const name = indented && header ? `${header}: ${key.trim()}` : key.trim()
    if (typeof v === 'object' && v.kind === 'ratio') {
      if (!Number.isFinite(v.value)) continue
      line.ratios.push({name, value: v.value, better: v.better, ...(v.goal === undefined ? {} : {goal: v.goal, met: goalMet(v)})})
    } else if (typeof v === 'object') line.figures.push({name, value: v.value, unit: v.unit, text: formatFigure(v)})
    else line.figures.push(typeof v === 'number' ? {name, value: v, text: String(v)} : {name, text: v})
  }
  return line
}

/**
 * `npm run bench` arguments: names before `--compare` are run (all when there are none and no
 * `--compare`), names after it only compared; `--compare` alone runs nothing.
 */
export function benchArgs(args: string[], env: NodeJS.ProcessEnv, known: string[]): {run: string[]; compare?: string[]; record: boolean; unknown: string[]} {
  const at = args.indexOf('--compare')
  const names = (xs: string[]) => xs.filter((a) => !a.startsWith('-'))
  const before = names(at < 0 ? args : args.slice(0, at))
  const after = at < 0 ? [] : names(args.slice(at + 1))
  const run = before.length ? before : at < 0 ? known : []
  return {
    run,
    ...(at < 0 ? {} : {compare: after.length ? after : run}),
    record: !args.includes('--no-record') && !env.BENCH_NO_RECORD,
    unknown: [...before, ...after].filter((n) => !known.includes(n)),
  }
}

// ---------------------------------------------------------------------------------------------
// collecting during a run (bench/run.ts drives it; a bench run on its own only prints)

let current: {bench: string; lines: ReturnType<typeof toLine>[]} | undefined

export function startBench(bench: string): void {
  current = {bench, lines: []}
}

export function collect(part: string, what: string, figures: Record<string, FigureValue>): void {
  current?.lines.push(toLine(part, what, figures))
}

/** the collected lines of the bench started last, with the machine and commit; collection ends */
export function finishBench(run: string, at = new Date()): RecordLine[] {
  if (!current) return []
  const {bench, lines} = current
  current = undefined
  const context = {machine: machine(), git: gitState(), date: at.toISOString(), run}
  return lines.map((l) => ({bench, ...l, ...context}))
}

export const newRunId = () => randomBytes(6).toString('hex')

export function appendRecords(lines: RecordLine[], file = RECORD_FILE): void {
  if (!lines.length) return
  mkdirSync(dirname(file), {recursive: true})
  appendFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''))
}

export function readRecords(file = RECORD_FILE): RecordLine[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as RecordLine
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON record line`)
      }
    })
}

// load average is taken when the bench starts: a loaded machine explains a slower absolute
let loadAtStart: number[] | undefined
export function noteLoad(): void {
  loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100)
}

function machine(): RecordLine['machine'] {
  return {cores: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? 'unknown', loadavg: loadAtStart ?? loadavg().map((l) => Math.round(l * 100) / 100), node: process.version}
}

function gitState(): RecordLine['git'] {
  const git = (...args: string[]) => execFileSync('git', args, {cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  try {
    // the record file itself changes with every run: it does not make the tree dirty
    const dirty = git('status', '--porcelain', '--untracked-files=no')
      .split('\n')
      .some((l) => l.trim() && !l.endsWith('bench/results/records.jsonl'))
    return {commit: git('rev-parse', 'HEAD').trim(), dirty}
  } catch {
    return {commit: 'unknown', dirty: true}
  }
}

// ---------------------------------------------------------------------------------------------
// comparing

export interface Comparison {
  bench: string
  part: string
  name: string
  better: Better
  goal?: number
  latest: {value: number; commit: string; dirty: boolean; date: string; load: number; cores: number}
  previous?: {value: number; commit: string; dirty: boolean; date: string; load: number; cores: number}
  /** latest / previous - 1, negated when lower is better: negative is worse */
  change?: number
  slipped: boolean
  /** no previous record on this workload, but some on another (other sizes) */
  otherWorkload?: boolean
}

/**
 * A ratio is compared only with the same ratio on the same workload (`what` carries the sizes:
 * `BENCH_MESSAGES=500` is not a slip against the default 5,000)
 */
const key = (l: Pick<RecordLine, 'bench' | 'part' | 'what'>, name: string) => `${l.bench}\u0000${l.part}\u0000${l.what}\u0000${name}`
const looseKey = (l: Pick<RecordLine, 'bench' | 'part'>, name: string) => `${l.bench}\u0000${l.part}\u0000${name}`
const where = (l: RecordLine, value: number) => ({value, commit: l.git.commit, dirty: l.git.dirty, date: l.date, load: l.machine.loadavg[0] ?? 0, cores: l.machine.cores})

/**
 * Every ratio of each benchmark's latest run beside the same ratio in the closest earlier run
 * that has it. Ordered by date, not file order: a union merge of two branches' records
 * (.gitattributes) puts one side's lines after the other's.
 */
export function compare(unordered: RecordLine[], benches: string[] = [], slip = SLIP): Comparison[] {
  const records = [...unordered].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
  const latestRun = new Map<string, string>()
  for (const l of records) latestRun.set(l.bench, l.run)
  const out: Comparison[] = []
  for (const [bench, run] of latestRun) {
    if (benches.length && !benches.includes(bench)) continue
    const mine = records.filter((l) => l.bench === bench)
    const previous = new Map<string, {line: RecordLine; value: number}>()
    const elsewhere = new Set<string>()
    for (const l of mine) {
      if (l.run === run) continue
      for (const r of l.ratios) {
        previous.set(key(l, r.name), {line: l, value: r.value})
        elsewhere.add(looseKey(l, r.name))
      }
    }
    for (const l of mine.filter((x) => x.run === run)) {
      for (const r of l.ratios) {
        const p = previous.get(key(l, r.name))
        const c: Comparison = {bench, part: l.part, name: r.name, better: r.better, goal: r.goal, latest: where(l, r.value), slipped: false}
        if (!p && elsewhere.has(looseKey(l, r.name))) c.otherWorkload = true
        if (p) {
          c.previous = where(p.line, p.value)
          // the relative move of the value, signed so that negative means worse whichever way is better
          const move = p.value === 0 ? 0 : r.value / p.value - 1
          c.change = r.better === 'higher' ? move : -move
          c.slipped = c.change < -slip
        }
        out.push(c)
      }
    }
  }
  return out
}

const short = (g: {commit: string; dirty: boolean}) => `${g.commit.slice(0, 8)}${g.dirty ? '+' : ''}`
const day = (iso: string) => iso.slice(0, 16).replace('T', ' ')
const num = (v: number) => v.toFixed(2)

export function formatComparison(rows: Comparison[]): string {
  if (!rows.length) return 'no ratios recorded yet (npm run bench writes them to bench/results/records.jsonl)\n'
  const out: string[] = []
  let group = ''
  for (const c of rows) {
    const g = `${c.bench} / ${c.part}`
    if (g !== group) {
      group = g
      const p = rows.find((x) => x.bench === c.bench && x.part === c.part && x.previous)?.previous
      out.push(`\n== ${g}   latest ${short(c.latest)} ${day(c.latest.date)} (load ${c.latest.load} on ${c.latest.cores} cores)${p ? `; previous ${short(p)} ${day(p.date)} (load ${p.load})` : ''}`)
    }
    const dir = c.better === 'higher' ? 'higher is better' : 'lower is better'
    const verdict = !c.previous ? (c.otherWorkload ? 'new (earlier records: another workload)' : 'new') : c.slipped ? `SLIP ${(c.change! * 100).toFixed(0)}%` : `${c.change! >= 0 ? '+' : ''}${(c.change! * 100).toFixed(0)}%`
    const was = c.previous ? `was ${num(c.previous.value)}` : ''
    out.push(`  ${c.name.padEnd(60)} ${num(c.latest.value).padStart(8)}  ${was.padEnd(12)} ${verdict.padEnd(10)}  (${dir}${c.goal === undefined ? '' : `, goal ${c.goal}`})`)
  }
  const slipped = rows.filter((c) => c.slipped).length
  out.push('', slipped ? `${slipped} ratio(s) slipped more than ${SLIP * 100}% against the previous record` : `no ratio slipped more than ${SLIP * 100}%`)
  return out.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// README block

export const BEGIN = '<!-- bench:begin -->'
export const END = '<!-- bench:end -->'

/** the latest value of every ratio per benchmark, as a Markdown table */
export function readmeTable(records: RecordLine[]): string {
  const rows = compare(records)
  if (!rows.length) return '_No benchmark record yet: `npm run bench` writes bench/results/records.jsonl._\n'
  const loaded = rows.some((c) => c.latest.load > c.latest.cores)
  const lines = [
    'Latest ratios from `bench/results/records.jsonl` (generated by `npm run bench:readme`; do not edit by hand).',
    'Load is the 1-minute load average when the benchmark started; a load above the core count means a loaded machine and slower absolutes. A `+` after the commit: the tree had uncommitted changes.',
    ...(loaded ? ['', '**Some of these figures were taken on a loaded machine** (load above the core count).'] : []),
    '',
    '| bench | part | ratio | value | goal | better | commit | date (UTC) | load / cores |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  const cell = (s: string) => s.replace(/\|/g, '\\|')
  for (const c of rows) {
    const met = goalMet({value: c.latest.value, better: c.better, goal: c.goal})
    const goal = c.goal === undefined ? '' : `${c.better === 'higher' ? '≥' : '≤'} ${c.goal} ${met ? 'met' : '**missed**'}`
    lines.push(`| ${c.bench} | ${cell(c.part)} | ${cell(c.name)} | ${num(c.latest.value)} | ${goal} | ${c.better} | ${short(c.latest)} | ${day(c.latest.date)} | ${c.latest.load} / ${c.latest.cores} |`)
  }
  return lines.join('\n') + '\n'
}

/** `text` with the marked block's content replaced by `block`; throws when the markers are missing */
export function rewriteBlock(text: string, block: string): string {
  const begin = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  if (begin < 0 || end < 0 || end < begin) throw new Error(`README has no ${BEGIN} … ${END} block to rewrite`)
  return `${text.slice(0, begin + BEGIN.length)}\n${block.endsWith('\n') ? block : block + '\n'}${text.slice(end)}`
}
