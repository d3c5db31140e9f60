/**
 * What one Sieve run at delivery costs the event loop (src/sieve-delivery/ runs scripts
 * synchronously): hostile scripts under the delivery's default limits (config `sieve`), each on a
 * message with a 30,000-character Subject and a 1 MiB body, the median of several runs after a
 * first one (which loads re2js and warms the JIT, once per process), and a typical filter (the shape Roundcube writes, six rules) for reference. The goal: a worst case
 * within ~20 ms (docs/sieve-delivery.md).
 */
import {DEFAULT_SIEVE_DELIVERY, runLimits} from '../src/sieve-delivery/config.js'
import {parseSieve, runSieve} from '../src/sieve/index.js'
import {fig, lower, report, type FigureValue} from './util.js'

const RUNS = 7
const BUDGET_MS = 20

const long = 'x'.repeat(30_000)
const message = Buffer.from(`From: a@remote.test\r\nTo: u@example.com\r\nSubject: ${long}\r\nX-Long: ${long}\r\n\r\n${'body text '.repeat(100_000)}\r\n`)
const lines = (n: number, line: (i: number) => string) => Array.from({length: n}, (_, i) => line(i)).join('\n')

const HOSTILE: Record<string, string> = {
  'header :is, 10 keys a test (step limit)': lines(2000, (i) => `if header :is "subject" ["a${i}","b","c","d","e","f","g","h","i","j"] { keep; }`),
  ':matches on the long header (work limit)': lines(2000, (i) => `if header :matches "subject" ["*a${i}*b*","*c*d*","*e*f*"] { keep; }`),
  ':regex on the long header (work limit)': `require "regex";\n${lines(500, (i) => `if header :regex "subject" "x*y${i}" { keep; }`)}`,
  'body :contains on 1 MiB (work limit)': `require "body";\n${lines(300, (i) => `if body :contains "zz${i}" { keep; }`)}`,
  'both limits in one run': `${lines(900, (i) => `if header :is "subject" ["a${i}","b","c","d","e","f","g","h","i","j"] { keep; }`)}\n${lines(200, (i) => `if header :matches "subject" ["*a${i}*b*","*c*d*"] { keep; }`)}`,
}

const TYPICAL = `require ["fileinto","imap4flags"];
# rule:[lists]
if header :contains "list-id" ["dev.example.org", "announce.example.org"] { fileinto "Lists"; stop; }
# rule:[boss]
if address :is "from" "boss@example.com" { addflag "\\\\Flagged"; }
# rule:[invoices]
if allof (header :contains "subject" "invoice", address :domain :is "from" "billing.example.net") { fileinto "Invoices"; stop; }
# rule:[newsletters]
if anyof (header :contains "subject" "newsletter", exists "list-unsubscribe") { fileinto "Newsletters"; stop; }
# rule:[big]
if size :over 5M { addflag "$Big"; }
# rule:[spam]
if header :contains "x-spam-flag" "yes" { fileinto "Junk"; stop; }
`

function timeRuns(text: string): {first: number; best: number; median: number; worst: number} {
  const parsed = parseSieve(text, {maxScriptBytes: 10_000_000})
  if (!parsed.ok) throw new Error(`bench script does not parse: ${parsed.errors[0]?.message}`)
  const once = () => {
    const started = performance.now()
    runSieve(parsed.script, {envelope: {from: 'a@remote.test', to: 'u@example.com'}, message, user: 'u@example.com', now: new Date()}, runLimits(DEFAULT_SIEVE_DELIVERY))
    return performance.now() - started
  }
  // the first run loads what the script needs once per process (re2js for :regex) and warms the JIT, as a running server has
  const first = once()
  const times = Array.from({length: RUNS}, once).sort((a, b) => a - b)
  return {first, best: times[0]!, median: times[Math.floor(RUNS / 2)]!, worst: times[RUNS - 1]!}
}

export async function benchSieve(): Promise<void> {
  const figures: Record<string, FigureValue> = {}
  let slowest = 0
  for (const [name, text] of Object.entries(HOSTILE)) {
    const {first, median, worst} = timeRuns(text)
    slowest = Math.max(slowest, median)
    figures[name] = fig(median, 'ms', `(of ${RUNS} after a first run: worst ${worst.toFixed(1)} ms; first ${first.toFixed(1)} ms)`, 1)
  }
  figures['reference: a typical filter (6 rules)'] = fig(timeRuns(TYPICAL).median, 'ms', '', 3)
  figures[`slowest hostile median / ${BUDGET_MS} ms`] = lower(slowest / BUDGET_MS, {goal: 1})
  const {maxSteps, maxMatchWork} = DEFAULT_SIEVE_DELIVERY
  report('worst', `one Sieve run at delivery, default limits (maxSteps ${maxSteps}, maxMatchWork ${maxMatchWork}), median of ${RUNS}`, figures)
}
