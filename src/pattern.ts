/**
 * Patterns as test suites write them: a case-insensitive substring, or `/regex/flags`. The one
 * mechanism behind capture rules (`--to`) and matcher MATCH fields (`to`, `from`, `subject`).
 *
 * Anyone who may register a pattern can make the server run it on every received mail, so a
 * pattern must not be able to stall the process: regular expressions run on RE2 (re2js, linear
 * time in the text, no backtracking), which has no backreferences or lookaround; the pattern
 * source, its compiled program, the memory of its lazily built DFA and the text it sees are all
 * bounded. A worst-case test then costs milliseconds, never minutes.
 */
import {RE2JS, RE2Set} from 're2js'
import {MailboxError} from './errors.js'

export type Pattern = (value: string) => boolean

export const PATTERN_LIMITS = {
  /** characters of pattern source, `/…/flags` included */
  maxPatternLength: 256,
  /** instructions of the compiled RE2 program (`x{499}` alone is about 500) */
  maxProgramSize: 500,
  /** bytes of DFA state cache per regular expression; past it RE2 falls back to its NFA */
  dfaMemory: 64 * 1024,
  /** a value longer than this is matched on its first this-many characters only */
  maxTextLength: 512,
}

/** flags that change what matches; g, y, u and d make no difference to a yes/no test and are ignored */
const FLAGS: Record<string, number> = {i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL}
const IGNORED_FLAGS = new Set(['g', 'y', 'u', 'd'])

const invalid = (message: string) => new MailboxError('invalid', message)

function compileRegex(source: string, body: string, flagLetters: string): Pattern {
  let flags = 0
  for (const letter of flagLetters) {
    if (FLAGS[letter] !== undefined) flags |= FLAGS[letter]
    else if (!IGNORED_FLAGS.has(letter)) throw invalid(`invalid regular expression ${source}: flag "${letter}" is not supported (i, m and s are)`)
  }
  let expression: string
  let size: number
  try {
    expression = RE2JS.translateRegExp(body) // JS spellings (`(?<name>`, `\u0041`, `[^]`) in RE2's
    size = RE2JS.compile(expression, flags).re2().numberOfInstructions()
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '')
    throw invalid(`invalid regular expression ${source}: ${reason} (RE2 syntax: no backreferences or lookaround)`)
  }
  if (size > PATTERN_LIMITS.maxProgramSize) {
    throw invalid(`regular expression ${source} is too large (${size} instructions compiled, at most ${PATTERN_LIMITS.maxProgramSize})`)
  }
  // A one-pattern RE2Set: the same engine, but with a DFA memory budget of our choosing
  // (RE2JS.compile's is a fixed 8 MiB, per pattern, for as long as the pattern lives).
  const set = new RE2Set(RE2Set.UNANCHORED, flags, PATTERN_LIMITS.dfaMemory)
  set.add(expression)
  set.compile()
  return (value) => set.match(bounded(value)).length > 0
}

const bounded = (value: string): string => (value.length > PATTERN_LIMITS.maxTextLength ? value.slice(0, PATTERN_LIMITS.maxTextLength) : value)

export function compilePattern(source: string): Pattern {
  if (typeof source !== 'string' || source.length === 0) throw invalid('a pattern must be a non-empty string')
  if (source.length > PATTERN_LIMITS.maxPatternLength) throw invalid(`a pattern is limited to ${PATTERN_LIMITS.maxPatternLength} characters`)
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(source)
  if (regex) return compileRegex(source, regex[1]!, regex[2]!)
  const needle = source.toLowerCase()
  return (value) => bounded(value).toLowerCase().includes(needle)
}
