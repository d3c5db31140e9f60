/**
 * ENVELOPE address lists on the wire, field by field, as Dovecot 2.3 renders them (captured from
 * the peer, /work/shared/peer), except that where Dovecot invents `MISSING_MAILBOX` and
 * `MISSING_DOMAIN` an absent part is the empty string: RFC 3501 §7.4.2 has NIL there mean group
 * syntax, and nothing else.
 */
import {describe, expect, it} from 'vitest'
import {addresses} from '../../src/imap/format.js'
import {parseAddressList} from '../../src/mime/address-list.js'

const CASES: [field: string, wire: string][] = [
  // groups: start marker (NIL NIL "name" NIL), members, end marker (NIL NIL NIL NIL)
  ['group: a@b.c, "D E" <d@e.f>;', '((NIL NIL "group" NIL)(NIL NIL "a" "b.c")("D E" NIL "d" "e.f")(NIL NIL NIL NIL))'],
  ['undisclosed-recipients:;', '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'],
  ['Group: ;', '((NIL NIL "Group" NIL)(NIL NIL NIL NIL))'],
  ['g1: a@b;, c@d, g2:;', '((NIL NIL "g1" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL)(NIL NIL "c" "d")(NIL NIL "g2" NIL)(NIL NIL NIL NIL))'],
  ['g: "x" <a@b>, (c) d@e (f);', '((NIL NIL "g" NIL)("x" NIL "a" "b")("f" NIL "d" "e")(NIL NIL NIL NIL))'],
  // incomplete addresses: the missing part is "" (Dovecot: MISSING_DOMAIN / MISSING_MAILBOX)
  ['root', '((NIL NIL "root" ""))'],
  ['MAILER-DAEMON (Mail Delivery System)', '(("Mail Delivery System" NIL "MAILER-DAEMON" ""))'],
  ['user@', '((NIL NIL "user" ""))'],
  ['@example.com', '((NIL NIL "" "example.com"))'],
  ['<>', '((NIL NIL "" ""))'],
  ['<user>', '((NIL NIL "user" ""))'],
  ['Name <local>', '(("Name" NIL "local" ""))'],
  ['John Doe', '(("John Doe" NIL "" ""))'],
  ['"quoted only"', '(("quoted only" NIL "" ""))'],
  // unusual but legal forms
  ['"john doe"@example.com', '((NIL NIL "john doe" "example.com"))'],
  ['john@example.com (John Doe)', '(("John Doe" NIL "john" "example.com"))'],
  ['(comment) a@b.c (another)', '(("another" NIL "a" "b.c"))'],
  ['John <john@x.y> (comment)', '(("John" NIL "john" "x.y"))'],
  ['<@route1,@route2:user@example.com>', '((NIL "@route1,@route2" "user" "example.com"))'],
  ['"A \\"B\\" C" <a@b.c>', '(("A \\"B\\" C" NIL "a" "b.c"))'],
  ['=?utf-8?q?J=C3=B6rg?= <j@example.com>', '(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.com"))'],
  ['"Doe, John" <john@x.y>, jane@x.y', '(("Doe, John" NIL "john" "x.y")(NIL NIL "jane" "x.y"))'],
  ['"" <a@b>', '((NIL NIL "a" "b"))'],
  ['a.b.c@d', '((NIL NIL "a.b.c" "d"))'],
  ['John Q. Public <jqp@x.y>', '(("John Q. Public" NIL "jqp" "x.y"))'],
  ['a@[192.0.2.1]', '((NIL NIL "a" "[192.0.2.1]"))'],
  // empty elements are skipped; a second address without a comma is dropped
  ['a@b.c,', '((NIL NIL "a" "b.c"))'],
  ['a@b.c (x), , d@e', '(("x" NIL "a" "b.c")(NIL NIL "d" "e"))'],
  ['a@b c@d', '((NIL NIL "a" "b"))'],
  ['', 'NIL'],
  ['Jörg <jö@exämple.com>', '(({5}\r\nJörg NIL {3}\r\njö {12}\r\nexämple.com))'], // raw UTF-8: literals
]

describe('ENVELOPE address lists', () => {
  it.each(CASES)('%s', (field, wire) => {
    expect(addresses(parseAddressList(field))).toBe(wire)
  })

  it('a long hostile field parses in linear time', () => {
    for (const unit of ['(', '"', '<@', '<@a,', '@a,', 'a:', 'a:b;', '<', 'a b ', '[']) {
      const started = performance.now()
      parseAddressList(unit.repeat(50_000))
      expect(performance.now() - started, unit).toBeLessThan(3000)
    }
  })
})
