/** Shared by the sieve-*.test.ts files: build a message, parse a script (failing loudly), run it. */
import {expect} from 'vitest'
import {formatSieveErrors, parseSieve, runSieve, type SieveLimits, type SieveOutcome} from '../../src/sieve/index.js'

export function message(headers: Record<string, string | string[]>, body = 'Hello.\r\n'): Buffer {
  const lines: string[] = []
  for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) lines.push(`${name}: ${v}`)
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body)
}

export function compile(text: string, limits?: Partial<SieveLimits>) {
  const result = parseSieve(text, limits)
  if (!result.ok) expect.fail(`script rejected:\n${formatSieveErrors(result.errors)}`)
  return result.script
}

export interface RunOptions {
  from?: string
  to?: string
  now?: Date
  limits?: Partial<SieveLimits>
}

export function run(text: string, msg: Buffer, options: RunOptions = {}): SieveOutcome {
  const script = compile(text, options.limits)
  return runSieve(script, {envelope: {from: options.from ?? 'sender@example.net', to: options.to ?? 'me@example.com'}, message: msg, user: 'me@example.com', now: options.now ?? new Date('2026-12-04T12:00:00Z')}, options.limits)
}

/** the actions in a compact form: "fileinto:spam", "keep", "implicit-keep", "redirect:a@b" … */
export function summary(outcome: SieveOutcome): string[] {
  return outcome.actions.map((a) => {
    switch (a.type) {
      case 'keep':
        return (a.implicit ? 'implicit-keep' : 'keep') + (a.flags.length ? ` [${a.flags.join(' ')}]` : '')
      case 'fileinto':
        return `fileinto:${a.mailbox}` + (a.flags.length ? ` [${a.flags.join(' ')}]` : '') + (a.copy ? ' copy' : '') + (a.create ? ' create' : '')
      case 'redirect':
        return `redirect:${a.address}${a.copy ? ' copy' : ''}`
      case 'reject':
        return `${a.ereject ? 'ereject' : 'reject'}:${a.reason}`
      case 'vacation':
        return `vacation${a.suppressed ? ' (suppressed)' : ''}`
      default:
        return a.type
    }
  })
}
