/**
 * Sieve (RFC 5228 and the extensions in SIEVE_CAPABILITIES) as a library: parse and validate a
 * script once (parseSieve: what ManageSieve's PUTSCRIPT/CHECKSCRIPT answer with), then run it
 * per delivery (runSieve: a list of actions, no side effects). See ./README.md.
 */
import {SieveSyntaxError, tokenize} from './lexer.js'
import {sieveLimits, type SieveLimits} from './limits.js'
import {parseTokens} from './parser.js'
import {runScript, type SieveInput, type SieveOutcome} from './interpreter.js'
import {validate, type Script, type SieveError} from './validate.js'

export {SIEVE_CAPABILITIES, type Script, type SieveError} from './validate.js'
export {DEFAULT_SIEVE_LIMITS, type SieveLimits} from './limits.js'
export type {SieveAction, SieveInput, SieveOutcome, VacationAction} from './interpreter.js'

export type ParseResult = {ok: true; script: Script} | {ok: false; errors: SieveError[]}

export function parseSieve(text: string, overrides?: Partial<SieveLimits>): ParseResult {
  const limits = sieveLimits(overrides)
  const bytes = Buffer.byteLength(text)
  if (bytes > limits.maxScriptBytes) {
    return {ok: false, errors: [{line: 1, column: 1, message: `the script is ${bytes} bytes, more than the limit of ${limits.maxScriptBytes}`}]}
  }
  try {
    const {script, errors} = validate(parseTokens(tokenize(text), limits.maxNesting), limits)
    return errors.length ? {ok: false, errors} : {ok: true, script}
  } catch (err) {
    if (err instanceof SieveSyntaxError) return {ok: false, errors: [{line: err.line, column: err.column, message: err.message}]}
    throw err
  }
}

export function runSieve(script: Script, input: SieveInput, overrides?: Partial<SieveLimits>): SieveOutcome {
  return runScript(script, input, overrides)
}

/** one line per error, "line N: message", as ManageSieve sends them (RFC 5804 §2.6) */
export function formatSieveErrors(errors: SieveError[]): string {
  return errors.map((e) => `line ${e.line}: ${e.message}`).join('\r\n')
}
