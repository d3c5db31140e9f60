/**
 * Every kind of syntax and validation error gives a line-numbered message, as ManageSieve's
 * PUTSCRIPT and CHECKSCRIPT send them back (RFC 5804 §2.6).
 */
import {describe, expect, it} from 'vitest'
import {formatSieveErrors, parseSieve} from '../../src/sieve/index.js'

const errorsOf = (text: string, limits?: Parameters<typeof parseSieve>[1]) => {
  const r = parseSieve(text, limits)
  if (r.ok) expect.fail(`accepted: ${text}`)
  return r.errors
}

describe('syntax errors', () => {
  it.each<[string, string, number, RegExp]>([
    ['unterminated string', 'keep;\nfileinto "abc;\n', 2, /unterminated string/],
    ['unterminated comment', 'keep; /* no end\n\n', 1, /unterminated comment/],
    ['unterminated text:', 'require "reject";\nreject text:\nline\n', 2, /unterminated multi-line string/],
    ['text: not followed by a line end', 'reject text: x\n.\n;', 1, /end of the line/],
    ['a stray character', 'keep;\n\n  @', 3, /unexpected character "@"/],
    ['a missing semicolon', 'keep\nstop;', 2, /takes no test \(a ";" is missing\?\)/],
    ['a missing semicolon at the end', 'keep', 1, /expected ";" or "{" after the command "keep", found end of script/],
    ['a missing brace', 'if true {\n  keep;\n', 3, /missing "}"/],
    ['a bad string list', 'if header :is ["a" "b"] "c" { keep; }', 1, /expected "," or "]"/],
    ['an empty test list', 'if anyof () { keep; }', 1, /expected a test/],
    ['a bad number', 'if size :over 10X { keep; }', 1, /invalid number/],
    ['a lone colon', 'keep :;', 1, /a tag must be/],
    ['a NUL in a comment (PostgreSQL could not store it)', 'keep;\n# a\0b\n', 2, /NUL/],
    ['a NUL in a string', 'require "fileinto";\nfileinto "a\0b";', 2, /NUL/],
  ])('%s', (_name, text, line, message) => {
    const [e] = errorsOf(text)
    expect(e!.message).toMatch(message)
    expect(e!.line).toBe(line)
  })
})

describe('validation errors', () => {
  it.each<[string, string, number, RegExp]>([
    ['an unknown command', 'keep;\nfrobnicate;', 2, /unknown command "frobnicate"/],
    ['a test used as a command', 'header :is "a" "b";', 1, /is a test, not a command/],
    ['an unknown test', 'if frob { keep; }', 1, /unknown test "frob"/],
    ['a command used as a test', 'if keep { stop; }', 1, /is a command, not a test/],
    ['an extension not required', 'keep;\nfileinto "x";', 2, /needs the "fileinto" extension: add require "fileinto"/],
    ['a tag of an extension not required', 'require "fileinto";\nfileinto :copy "x";', 2, /":copy" needs the "copy" extension/],
    ['an unsupported extension', 'require ["fileinto", "enotify"];', 1, /unsupported extension "enotify"/],
    ['require after a command', 'keep;\nrequire "fileinto";', 2, /"require" must come before any other command/],
    ['elsif without if', 'keep;\nelsif true { stop; }', 2, /"elsif" must follow "if" or "elsif"/],
    ['else after else', 'if true { keep; } else { stop; }\nelse { stop; }', 2, /"else" must follow/],
    ['if without a block', 'if true;', 1, /needs a block/],
    ['a block on a plain command', 'keep { stop; }', 1, /takes no block/],
    ['if without a test', 'if { keep; }', 1, /needs exactly one test/],
    ['not with two tests', 'if not (true, false) { keep; }', 1, /needs exactly one test/],
    ['a wrong argument type', 'redirect 5;', 1, /argument 1 of command "redirect" must be a string/],
    ['a list where a string is needed', 'require "fileinto";\nfileinto ["a", "b"];', 2, /must be a string/],
    ['a missing argument', 'require "fileinto";\nfileinto;', 2, /takes 1 positional argument, found 0/],
    ['too many arguments', 'if header "a" "b" "c" { keep; }', 1, /takes 2 positional arguments, found 3/],
    ['an unknown tag', 'if header :bogus "a" "b" { keep; }', 1, /unknown tag ":bogus" for test "header"/],
    ['a tag given twice', 'if header :is :is "a" "b" { keep; }', 1, /given twice/],
    ['two match types', 'if header :is :contains "a" "b" { keep; }', 1, /":is" and ":contains" cannot be used together/],
    ['a tag after positional arguments', 'if header "a" :is "b" { keep; }', 1, /must come before the positional arguments/],
    ['a tag missing its argument', 'if header :comparator :is "a" "b" { keep; }', 1, /":comparator" needs a string after it/],
    ['an unknown comparator', 'if header :comparator "i;klingon" "a" "b" { keep; }', 1, /unknown comparator "i;klingon"/],
    ['i;ascii-numeric not required', 'if header :comparator "i;ascii-numeric" "a" "1" { keep; }', 1, /needs the "comparator-i;ascii-numeric" extension/],
    ['i;ascii-numeric with :contains', 'require "comparator-i;ascii-numeric";\nif header :contains :comparator "i;ascii-numeric" "a" "1" { keep; }', 2, /only supports :is, :count and :value/],
    ['an unknown relation', 'require "relational";\nif header :value "gte" "a" "1" { keep; }', 2, /unknown relation "gte"/],
    ['relational not required', 'if header :count "gt" "a" "1" { keep; }', 1, /needs the "relational" extension/],
    ['an invalid regex', 'require "regex";\nif header :regex "subject" "a(b" { keep; }', 2, /invalid regular expression "a\(b"/],
    ['a regex with a backreference', 'require "regex";\nif header :regex "subject" "(a)\\\\1" { keep; }', 2, /invalid regular expression/],
    ['size without :over or :under', 'if size 10 { keep; }', 1, /needs :over or :under/],
    ['size with both', 'if size :over :under 10 { keep; }', 1, /cannot be used together/],
    ['an unknown envelope part', 'require "envelope";\nif envelope "return-path" "x" { keep; }', 2, /unknown envelope part "return-path"/],
    ['subaddress not required', 'require "envelope";\nif envelope :detail "to" "x" { keep; }', 2, /":detail" needs the "subaddress" extension/],
    ['an unknown date part', 'require "date";\nif currentdate "fortnight" "1" { keep; }', 2, /unknown date part "fortnight"/],
    ['an invalid zone', 'require "date";\nif currentdate :zone "CET" "hour" "1" { keep; }', 2, /invalid time zone "CET"/],
    ['an invalid variable name', 'require "variables";\nset "1abc" "x";', 2, /invalid variable name "1abc"/],
    ['two case modifiers', 'require "variables";\nset :lower :upper "a" "x";', 2, /cannot be used together/],
    [':days and :seconds together', 'require ["vacation", "vacation-seconds"];\nvacation :days 1 :seconds 60 "x";', 2, /cannot be used together/],
    ['an unknown vacation tag', 'require "vacation";\nvacation :weeks 1 "x";', 2, /unknown tag ":weeks" for command "vacation"/],
    ['an invalid header name', 'if header :is "Sub ject" "x" { keep; }', 1, /invalid header field name "Sub ject"/],
    ['an empty header name', 'if exists "" { keep; }', 1, /invalid header field name ""/],
    ['encoded bytes that are not UTF-8', 'require ["encoded-character", "fileinto"];\nfileinto "${hex:ff}";', 2, /is not UTF-8/],
    ['an encoded surrogate', 'require ["encoded-character", "fileinto"];\nfileinto "${unicode:D800}";', 2, /no character/],
    [':flags without imap4flags', 'keep :flags "\\\\Seen";', 1, /":flags" needs the "imap4flags" extension/],
  ])('%s', (_name, text, line, message) => {
    const errors = errorsOf(text)
    const hit = errors.find((e) => message.test(e.message))
    expect(hit, errors.map((e) => e.message).join(' | ')).toBeDefined()
    expect(hit!.line).toBe(line)
  })

  it('reports several errors at once, each on its own line for ManageSieve', () => {
    const errors = errorsOf('require "fileinto";\nfrob;\nfileinto 5;\nif size 1 { keep; }\n')
    expect(formatSieveErrors(errors).split('\r\n')).toEqual([
      'line 2: unknown command "frob"',
      'line 3: argument 1 of command "fileinto" must be a string',
      'line 4: the test "size" needs :over or :under',
    ])
  })

  it('a script over the size limit, and nesting over the depth limit', () => {
    expect(errorsOf('keep;'.repeat(20), {maxScriptBytes: 50})[0]!.message).toMatch(/100 bytes, more than the limit of 50/)
    const deep = 'if true {'.repeat(40) + '}'.repeat(40)
    expect(errorsOf(deep)[0]!.message).toMatch(/nested deeper than 32/)
    const deepTests = 'if ' + 'not '.repeat(100) + 'true { keep; }'
    expect(errorsOf(deepTests)[0]!.message).toMatch(/nested deeper than 32/)
  })

  it('names are case-insensitive; comments and text: strings parse', () => {
    const r = parseSieve('REQUIRE ["FileInto"];\n# a comment\nIF Header :CONTAINS "Subject" "x" /* inline */ { FILEINTO text: # why\nline one\n..dot-stuffed\n.\n; }\n')
    expect(r.ok).toBe(false) // extension names are case-sensitive strings: "FileInto" is unknown
    const ok = parseSieve('require ["fileinto"];\n# a comment\nIF Header :CONTAINS "Subject" "x" /* inline */ { FILEINTO text: # why\nline one\n..dot-stuffed\n.\n; }\n')
    expect(ok.ok).toBe(true)
  })
})

describe('robustness', () => {
  it('random token soup never throws: it is rejected with errors, or runs to an outcome', async () => {
    const {runSieve} = await import('../../src/sieve/index.js')
    const pool = ['require', '"fileinto"', '["variables", "imap4flags", "body", "date", "relational", "regex", "vacation", "envelope", "subaddress"]', 'if', 'elsif', 'else', '{', '}', '(', ')', '[', ']', ',', ';', 'header', 'address', 'envelope', 'body', 'string', 'hasflag', 'date', 'currentdate', 'allof', 'anyof', 'not', 'true', 'false', 'exists', 'size', ':over', ':under', '10K', ':is', ':contains', ':matches', ':regex', ':count', ':value', '"gt"', ':comparator', '"i;octet"', ':localpart', ':domain', ':detail', ':text', ':raw', ':content', '"text"', 'set', ':lower', ':length', 'addflag', 'setflag', 'fileinto', 'keep', 'discard', 'stop', 'redirect', 'vacation', ':days', '3', '"subject"', '"*a*"', '"${1}"', '"a@b.example"', '"x(y"', '"date"', '"hour"', '"from"', '"to"', '"v"', 'text:\n.\n']
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const msg = Buffer.from('From: a@b.example\r\nTo: me@example.com\r\nSubject: aaa\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n')
    let ran = 0
    const head = 'require ["fileinto", "variables", "imap4flags", "body", "date", "relational", "regex", "vacation", "envelope", "subaddress", "copy", "comparator-i;ascii-numeric"];\n'
    const tests = ['header :matches "subject" "*a*"', 'address :detail "to" "x"', 'envelope :domain "from" "b.example"', 'body :text :contains "od"', 'string :is "${1}" "a"', 'hasflag :count "gt" :comparator "i;ascii-numeric" "0"', 'date :value "ge" :originalzone "date" "hour" "09"', 'currentdate :is "year" "2026"', 'header :regex "subject" "^(a+)$"', 'size :over 10', 'exists "date"', 'not true']
    const actions = ['fileinto "${1}"', 'keep', 'discard', 'addflag "\\\\Seen"', 'set :upper "x" "${1}"', 'redirect :copy "a@b.example"', 'vacation "away"', 'stop']
    for (let i = 0; i < 3000; i++) {
      const valid = head + Array.from({length: 1 + rand(5)}, () => `if anyof(${tests[rand(tests.length)]}, ${tests[rand(tests.length)]}) { ${actions[rand(actions.length)]}; } else { ${actions[rand(actions.length)]}; }`).join('\n')
      const text = i % 2 ? valid : Array.from({length: 1 + rand(25)}, () => pool[rand(pool.length)]).join(' ')
      const parsed = parseSieve(text)
      if (!parsed.ok) {
        expect(parsed.errors.length).toBeGreaterThan(0)
        for (const e of parsed.errors) expect(e.line).toBeGreaterThan(0)
        continue
      }
      ran++
      const out = runSieve(parsed.script, {envelope: {from: 'a@b.example', to: 'me@example.com'}, message: msg, user: 'me', now: new Date()})
      expect(out.actions.length).toBeGreaterThan(0)
    }
    expect(ran).toBeGreaterThan(1000)
  })
})
