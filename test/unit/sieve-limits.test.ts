/**
 * Anything a script or a message controls is bounded: steps, comparison work, redirects,
 * actions, variables, header and body bytes. A run that hits a limit stops early, drops its
 * actions and keeps the message (RFC 5228 §2.10.6), saying why. Bounds are asserted on the
 * step and work counters, never on time.
 */
import {describe, expect, it} from 'vitest'
import {DEFAULT_SIEVE_LIMITS, runSieve} from '../../src/sieve/index.js'
import {compile, message, run, summary} from './sieve-helpers.js'

const keptWithError = (out: ReturnType<typeof run>, why: RegExp) => {
  expect(summary(out)).toEqual(['implicit-keep'])
  expect(out.errors.join(' ')).toMatch(why)
}

describe('execution limits', () => {
  it('a script doing too many comparisons stops at maxSteps, with its actions dropped', () => {
    const headers = {'X-A': Array.from({length: 300}, (_, i) => `value ${i}`)}
    const keys = JSON.stringify(Array.from({length: 400}, (_, i) => `key ${i}`))
    const script = 'require "fileinto"; fileinto "early";\n' + `if header :is "x-a" ${keys} { discard; }\n`.repeat(5)
    const out = run(script, message(headers))
    keptWithError(out, /more than 100000 steps/)
    expect(out.steps).toBeLessThanOrEqual(DEFAULT_SIEVE_LIMITS.maxSteps + 1)
  })

  it('the step limit can be lowered by the caller', () => {
    const script = 'require "variables";\n' + 'set "a" "x";\n'.repeat(100)
    const out = run(script, message({Subject: 'x'}), {limits: {maxSteps: 50}})
    keptWithError(out, /more than 50 steps/)
    expect(out.steps).toBe(51)
  })

  it(':matches with a huge pattern on a huge header costs bounded work, then stops', () => {
    // a long segment that almost matches at every position: value length × segment length
    const pattern = '*' + 'a'.repeat(3000) + 'b*'
    const out = run(`if header :matches "subject" "${pattern}" { discard; }`, message({Subject: 'a'.repeat(30000)}))
    keptWithError(out, /units of work/)
    expect(out.steps).toBeLessThan(100)
  })

  it(':matches without backtracking: many stars on a near miss are linear per segment', () => {
    // a classic exponential case for backtracking globs
    const out = run(`if header :matches "subject" "${'*a'.repeat(30)}*b" { discard; }`, message({Subject: 'a'.repeat(100)}))
    expect(out.errors).toEqual([])
    expect(summary(out)).toEqual(['implicit-keep'])
  })

  it('variables double up to maxVariableBytes and no further (RFC 5229 §3: at least 4000)', () => {
    const script = 'require ["variables", "fileinto"];\nset "a" "xy";\n' + 'set "a" "${a}${a}";\n'.repeat(30) + 'set :length "n" "${a}";\nfileinto "${n}";'
    const out = run(script, message({Subject: 'x'}))
    expect(out.errors).toEqual([])
    expect(summary(out)).toEqual([`fileinto:${DEFAULT_SIEVE_LIMITS.maxVariableBytes}`])
  })

  it('truncation never splits a UTF-8 character', () => {
    const out = run('require ["variables", "fileinto"]; set "a" "ééé"; fileinto "${a}";', message({Subject: 'x'}), {limits: {maxVariableBytes: 5}})
    expect(summary(out)).toEqual(['fileinto:éé'])
  })

  it('at most maxVariables distinct variables', () => {
    const script = 'require "variables";\n' + Array.from({length: 300}, (_, i) => `set "v${i}" "x";`).join('\n')
    keptWithError(run(script, message({Subject: 'x'})), /more than 256 variables/)
  })

  it('at most maxRedirects redirects; the same address twice counts once', () => {
    const five = Array.from({length: 5}, (_, i) => `redirect :copy "r${i}@example.org";`).join('\n')
    keptWithError(run('require "copy";\n' + five, message({Subject: 'x'})), /line 6: more than 4 redirects/)
    expect(summary(run('redirect "a@example.org"; redirect "A@example.org";', message({Subject: 'x'})))).toEqual(['redirect:a@example.org'])
  })

  it('at most maxActions actions', () => {
    const script = 'require "fileinto";\n' + Array.from({length: 70}, (_, i) => `fileinto "f${i}";`).join('\n')
    keptWithError(run(script, message({Subject: 'x'})), /more than 64 actions/)
  })

  it('a redirect to something that is no address, or vacation twice, are runtime errors', () => {
    keptWithError(run('require "variables"; set "a" "not an address"; redirect "${a}";', message({Subject: 'x'})), /invalid address/)
    keptWithError(run('require "vacation"; vacation "a"; vacation "b";', message({From: 'a@example.net', To: 'me@example.com'})), /vacation used twice/)
  })

  it('only the first maxHeaderBytes of the header are examined', () => {
    const msg = message({'X-Pad': 'p'.repeat(2000), 'X-Late': 'yes'})
    expect(summary(run('if exists "x-late" { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if exists "x-late" { discard; }', msg, {limits: {maxHeaderBytes: 1000}}))).toEqual(['implicit-keep'])
  })

  it('only the first maxBodyBytes of body text are examined', () => {
    const msg = message({Subject: 'x'}, 'a'.repeat(5000) + ' needle\r\n')
    const script = 'require "body"; if body :contains "needle" { discard; }'
    expect(summary(run(script, msg))).toEqual(['discard'])
    expect(summary(run(script, msg, {limits: {maxBodyBytes: 1000}}))).toEqual(['implicit-keep'])
  })

  it('a compiled script is reusable: runs do not share state', () => {
    const script = compile('require ["variables", "imap4flags", "fileinto"]; addflag "x"; set "a" "${a}y"; fileinto "${a}";')
    const input = {envelope: {from: 'a@example.net', to: 'me@example.com'}, message: message({Subject: 'x'}), user: 'me', now: new Date()}
    expect(summary(runSieve(script, input))).toEqual(['fileinto:y [x]'])
    expect(summary(runSieve(script, input))).toEqual(['fileinto:y [x]'])
  })

  it('an exception from the caller or a bug still ends in the implicit keep', () => {
    const script = compile('require ["mailbox", "fileinto"]; fileinto "a"; if mailboxexists "x" { discard; }')
    const input = {envelope: {from: 'a@example.net', to: 'me@example.com'}, message: message({Subject: 'x'}), user: 'me', now: new Date(), mailboxExists: (): boolean => {
      throw new Error('store down')
    }}
    const out = runSieve(script, input)
    expect(summary(out)).toEqual(['implicit-keep'])
    expect(out.errors).toEqual(['internal error: store down'])
  })
})
