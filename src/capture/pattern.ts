/**
 * Patterns as test suites write them: a case-insensitive substring, or `/regex/flags`.
 * Used by capture rules (`--to`) and matcher MATCH fields (`to`, `from`, `subject`).
 */
import {MailboxError} from '../errors.js'

export type Pattern = (value: string) => boolean

const MAX_PATTERN = 1000

export function compilePattern(source: string): Pattern {
  if (typeof source !== 'string' || source.length === 0) throw new MailboxError('invalid', 'a pattern must be a non-empty string')
  if (source.length > MAX_PATTERN) throw new MailboxError('invalid', `a pattern is limited to ${MAX_PATTERN} characters`)
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(source)
  if (regex) {
    let re: RegExp
    try {
      re = new RegExp(regex[1]!, regex[2]!.replace(/[gy]/g, '')) // g/y would make test() stateful
    } catch (err) {
      throw new MailboxError('invalid', `invalid regular expression ${source}: ${(err as Error).message}`)
    }
    return (value) => re.test(value)
  }
  const needle = source.toLowerCase()
  return (value) => value.toLowerCase().includes(needle)
}
