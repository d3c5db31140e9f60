/**
 * Bounds on everything a script controls (its author is a mail user, its input a stranger's
 * message): the defaults are generous for real filters; callers may override any of them.
 */
import type {RE2JS} from 're2js'
import type {GlobItem} from './match.js'

export interface SieveLimits {
  /** bytes of script text */
  maxScriptBytes: number
  /** block and test nesting */
  maxNesting: number
  /** validation errors reported before giving up listing them */
  maxErrors: number
  /** commands and tests evaluated, and values compared, in one run */
  maxSteps: number
  /** character comparisons made by :contains, :matches and :regex in one run (their time bound) */
  maxMatchWork: number
  /** redirect actions per message */
  maxRedirects: number
  /** actions of any kind per message */
  maxActions: number
  /** distinct variables (RFC 5229 §3 asks for at least 128) */
  maxVariables: number
  /** bytes of one variable's value (RFC 5229 §3 asks for at least 4000) */
  maxVariableBytes: number
  /** bytes of the message header examined */
  maxHeaderBytes: number
  /** bytes of body text examined by the body test */
  maxBodyBytes: number
  /** compiled size of one regular expression (RE2 instructions) */
  maxRegexInstructions: number
}

export const DEFAULT_SIEVE_LIMITS: SieveLimits = {
  maxScriptBytes: 64 * 1024,
  maxNesting: 32,
  maxErrors: 20,
  maxSteps: 100_000,
  maxMatchWork: 20_000_000,
  maxRedirects: 4,
  maxActions: 64,
  maxVariables: 256,
  maxVariableBytes: 4096,
  maxHeaderBytes: 256 * 1024,
  maxBodyBytes: 1024 * 1024,
  maxRegexInstructions: 2000,
}

export function sieveLimits(overrides?: Partial<SieveLimits>): SieveLimits {
  return {...DEFAULT_SIEVE_LIMITS, ...overrides}
}

/** a limit hit while running: the run stops and the message is kept (RFC 5228 §2.10.6) */
export class SieveRuntimeError extends Error {}

export class Budget {
  steps = 0
  work = 0
  /** the run's compiled regular expressions (./match.ts) */
  readonly regexes = new Map<string, RE2JS | undefined>()
  /** the run's parsed :matches patterns, by comparator and pattern */
  readonly globs = new Map<string, GlobItem[][]>()
  constructor(readonly limits: SieveLimits) {}
  step(n = 1): void {
    this.steps += n
    if (this.steps > this.limits.maxSteps) throw new SieveRuntimeError(`the script ran more than ${this.limits.maxSteps} steps`)
  }
  charge(n: number): void {
    this.work += n
    if (this.work > this.limits.maxMatchWork) throw new SieveRuntimeError(`the script's comparisons took more than ${this.limits.maxMatchWork} units of work`)
  }
}
