/**
 * The script `mailbox user vacation` writes (src/sieve-scripts/vacation.ts), without a store:
 * what it carries of the previous script (its requires merged, its commands after the reply,
 * whatever its line endings and comments), the settings read back, the settings refused, and
 * the limit the README states (a `${…}` in the text is a variable once `variables` is required).
 */
import {describe, expect, it} from 'vitest'
import {parseSieve, runSieve} from '../../src/sieve/index.js'
import {checkVacationSettings, isGeneratedVacation, previousOf, settingsOf, vacationScript} from '../../src/sieve-scripts/vacation.js'
import {codeOf} from '../helpers/errors.js'

const USER = 'amy@x.test'
const run = (content: string, headers = 'Subject: hi\r\n', now = new Date(Date.UTC(2030, 5, 1))) => {
  const parsed = parseSieve(content)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  const message = Buffer.from(`From: b@remote.test\r\nTo: ${USER}\r\n${headers}\r\nbody\r\n`)
  return runSieve(parsed.script, {envelope: {from: 'b@remote.test', to: USER}, message, user: USER, now})
}

describe('the generated vacation script', () => {
  it('alone: requires vacation, replies with the settings; read back the same', () => {
    const text = vacationScript({subject: 'Away', message: 'Back "soon" \\ later.\nBye', days: 2, addresses: ['a@old.test']})
    expect(isGeneratedVacation(text)).toBe(true)
    expect(previousOf(text)).toBeUndefined()
    const outcome = run(text)
    expect(outcome.actions).toContainEqual(expect.objectContaining({type: 'vacation', subject: 'Away', reason: 'Back "soon" \\ later.\nBye', periodSeconds: 2 * 86_400}))
    expect(settingsOf(text)).toEqual({subject: 'Away', message: 'Back "soon" \\ later.\nBye', days: 2, addresses: ['a@old.test']})
  })

  it('carries a CRLF script with comments and several requires: merged once, its commands after the reply, still filing', () => {
    const previous = '# my filters\r\nrequire "fileinto";\r\n/* flags too */\r\nrequire ["imap4flags", "vacation"];\r\n# lists\r\nif header :contains "list-id" "x" {\r\n  fileinto "Lists";\r\n}\r\n'
    const text = vacationScript({subject: 'Away', message: 'm', until: '2030-06-01'}, {name: 'Mine ünï', content: previous})
    expect(previousOf(text)).toBe('Mine ünï')
    expect(text.match(/^require .*$/m)![0]).toBe('require ["vacation", "date", "relational", "fileinto", "imap4flags"];')
    expect(text).toContain('if header :contains "list-id" "x" {\r\n  fileinto "Lists";\r\n}')
    expect(text).not.toContain('# my filters')
    expect(run(text, 'Subject: a\r\nList-Id: <x.lists>\r\n').actions).toContainEqual(expect.objectContaining({type: 'fileinto', mailbox: 'Lists'}))
    // the last day replies; the day after none
    expect(run(text).actions.some((a) => a.type === 'vacation')).toBe(true)
    expect(run(text, undefined, new Date(Date.UTC(2030, 5, 2, 12))).actions.some((a) => a.type === 'vacation')).toBe(false)
    expect(settingsOf(text)).toEqual({subject: 'Away', message: 'm', until: '2030-06-01'})
  })

  it('refuses to carry a script with a vacation rule of its own (two replies in one run fail it: filters and replies off)', () => {
    const previous = 'require ["vacation", "fileinto"];\nif header :contains "list-id" "x" { fileinto "Lists"; }\nif true { vacation :days 1 "Away (Roundcube)"; }\n'
    expect(codeOf(() => vacationScript({subject: 'S', message: 'm'}, {name: 'roundcube', content: previous}))).toBe('conflict')
  })

  it('a previous script of requires and comments only carries nothing but its requires', () => {
    const text = vacationScript({subject: 'S', message: 'm'}, {name: 'empty', content: 'require "body"; # nothing else\n'})
    expect(text.match(/^require .*$/m)![0]).toBe('require ["vacation", "body"];')
    expect(parseSieve(text).ok).toBe(true)
  })

  it('with variables required by the carried rules, ${name} in the text is a variable (as the README says)', () => {
    const text = vacationScript({subject: 'Re: ${subject}', message: 'm'}, {name: 'v', content: 'require "variables";\nset "subject" "hello";\n'})
    expect(run(text).actions).toContainEqual(expect.objectContaining({type: 'vacation', subject: 'Re: '}))
  })

  it('refuses an empty or multi-line subject, an empty message, a date that is not one, days out of 1..365, a bad address', () => {
    const ok = {subject: 's', message: 'm'}
    expect(codeOf(() => checkVacationSettings({...ok, subject: ' '}))).toBe('invalid')
    expect(codeOf(() => checkVacationSettings({...ok, subject: 'a\nb'}))).toBe('invalid')
    expect(codeOf(() => checkVacationSettings({...ok, message: '\n'}))).toBe('invalid')
    for (const until of ['2026-2-3', '2026-02-29', '20260203', 'tomorrow']) expect(codeOf(() => checkVacationSettings({...ok, until})), until).toBe('invalid')
    expect(checkVacationSettings({...ok, until: '2028-02-29'}).until).toBe('2028-02-29')
    for (const days of [0, 366, 1.5]) expect(codeOf(() => checkVacationSettings({...ok, days}))).toBe('invalid')
    expect(codeOf(() => checkVacationSettings({...ok, addresses: ['nope']}))).toBe('invalid')
    expect(checkVacationSettings({...ok, addresses: ['A@Example.COM']}).addresses).toEqual(['a@example.com'])
  })
})
