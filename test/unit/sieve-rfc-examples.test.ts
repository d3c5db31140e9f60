/**
 * The examples of the Sieve RFCs (5228 §9, 5229, 5230, 5231, 5232, 5233, 5173, 5260, 5429),
 * run on real messages, the outcome checked.
 */
import {describe, expect, it} from 'vitest'
import {runSieve} from '../../src/sieve/index.js'
import {compile, message, run, summary} from './sieve-helpers.js'

describe('RFC 5228 §9: the example filter', () => {
  const script = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`
  it('files list mail by Sender', () => {
    expect(summary(run(script, message({Sender: 'owner-ietf-mta-filters@imc.org', From: 'x@imc.org', To: 'me@example.com', Subject: 'x'})))).toEqual(['fileinto:filter'])
  })
  it('keeps company mail', () => {
    expect(summary(run(script, message({From: 'Boss <boss@EXAMPLE.com>', To: 'me@example.org', Subject: 'x'})))).toEqual(['keep'])
  })
  it('files spam: not to me, or a spammy subject', () => {
    expect(summary(run(script, message({From: 'x@spam.example', To: 'someone@else.example', Subject: 'hi'})))).toEqual(['fileinto:spam'])
    // addressed to me (Cc), but the subject gives it away
    expect(summary(run(script, message({From: 'x@spam.example', To: 'friends@else.example', Cc: 'me@example.com', Subject: 'How to MAKE lots of Money FAST'})))).toEqual(['fileinto:spam'])
    expect(summary(run(script, message({From: 'x@spam.example', To: 'friends@else.example', Cc: 'me@example.com', Subject: 'Cheap university diplomas'})))).toEqual(['fileinto:spam'])
  })
  it('files the rest as personal', () => {
    expect(summary(run(script, message({From: 'friend@else.example', Cc: 'Me <me@example.com>', Subject: 'dinner?'})))).toEqual(['fileinto:personal'])
  })
})

describe('RFC 5228: base actions and implicit keep', () => {
  it('an empty script keeps; discard cancels the implicit keep; stop ends the run', () => {
    expect(summary(run('', message({Subject: 'x'})))).toEqual(['implicit-keep'])
    expect(summary(run('discard;', message({Subject: 'x'})))).toEqual(['discard'])
    expect(summary(run('stop; discard;', message({Subject: 'x'})))).toEqual(['implicit-keep'])
  })
  it('redirect cancels the implicit keep, :copy does not (RFC 3894)', () => {
    expect(summary(run('redirect "a@example.org";', message({Subject: 'x'})))).toEqual(['redirect:a@example.org'])
    expect(summary(run('require "copy"; redirect :copy "a@example.org";', message({Subject: 'x'})))).toEqual(['redirect:a@example.org copy', 'implicit-keep'])
  })
  it('filing into one mailbox twice stores once; keep twice keeps once', () => {
    expect(summary(run('require "fileinto"; fileinto "a"; fileinto "a"; keep; keep;', message({Subject: 'x'})))).toEqual(['fileinto:a', 'keep'])
    expect(summary(run('require "fileinto"; keep; fileinto "inbox";', message({Subject: 'x'})))).toEqual(['keep'])
  })
  it('exists, size and header tests', () => {
    const msg = message({From: 'a@b.example', 'X-Spam-Flag': 'YES', Subject: 'x'}, 'x'.repeat(2000))
    expect(summary(run('if exists ["x-spam-flag", "from"] { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if exists ["x-spam-flag", "x-nothere"] { discard; }', msg))).toEqual(['implicit-keep'])
    expect(summary(run('if size :over 1K { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if size :under 1K { discard; }', msg))).toEqual(['implicit-keep'])
    expect(summary(run('if header :contains "x-spam-flag" "yes" { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if header :comparator "i;octet" :contains "x-spam-flag" "yes" { discard; }', msg))).toEqual(['implicit-keep'])
  })
  it('compares headers after RFC 2047 decoding (§2.7.2)', () => {
    const msg = message({Subject: '=?utf-8?q?R=C3=A9union_demain?=', From: '=?iso-8859-1?q?J=F6rg?= <jorg@example.de>'})
    expect(summary(run('require "fileinto"; if header :contains "subject" "Réunion" { fileinto "fr"; }', msg))).toEqual(['fileinto:fr'])
    expect(summary(run('require "fileinto"; if header :matches "from" "Jörg *" { fileinto "de"; }', msg))).toEqual(['fileinto:de'])
  })
  it('the null envelope sender is "" (§5.4)', () => {
    expect(summary(run('require "envelope"; if envelope :is "from" "" { discard; }', message({Subject: 'bounce'}), {from: ''}))).toEqual(['discard'])
  })
  it('"?" matches one character, "\\" quotes a wildcard', () => {
    const msg = message({Subject: 'Ünï?x'})
    expect(summary(run('if header :matches "subject" "??ï\\\\?x" { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if header :matches "subject" "?ï*" { discard; }', msg))).toEqual(['implicit-keep'])
  })
})

describe('RFC 5229: variables', () => {
  it('the match-variable examples of §3.2', () => {
    const script = `require ["fileinto", "variables"];
if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.\${2}"; stop;
}
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    fileinto "INBOX.lists.\${1}"; stop;
}
# To: coyote@ACME.Example.COM
if address :matches ["To", "Cc"] ["coyote@**.com",
        "wile@**.com"] {
    fileinto "INBOX.business.\${2}"; stop;
} else {
}
if anyof (true, address :domain :matches "To" "*.com") {
    stop;
}
`
    expect(summary(run(script, message({'List-Id': 'Sieve <sieve@ietf.org>'})))).toEqual(['fileinto:INBOX.lists.sieve'])
    expect(summary(run(script, message({Subject: '[acme-users] [fwd] version 1.0 is out'})))).toEqual(['fileinto:INBOX.lists.acme-users'])
    expect(summary(run(script, message({To: 'coyote@ACME.Example.COM', Subject: 'x'})))).toEqual(['fileinto:INBOX.business.ACME.Example'])
    expect(summary(run(script, message({To: 'road@runner.example', Subject: 'x'})))).toEqual(['implicit-keep'])
  })
  it('the set examples of §4: text: strings and case-insensitive names', () => {
    const script = `require ["variables", "vacation"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear \${HONORIFIC} \${last_name},
I'm out, please leave a message after the meep.
.
;
vacation :subject "Gone" "\${vacation}";
`
    const out = run(script, message({From: 'bugs@example.net', To: 'me@example.com', Subject: 'hi'}), {from: 'bugs@example.net'})
    const v = out.actions.find((a) => a.type === 'vacation')
    expect(v && v.type === 'vacation' && v.reason).toBe("Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n")
  })
  it('the modifiers of §4.1, applied by precedence', () => {
    const cases: [string, string][] = [
      [':length', '15'],
      [':lower', 'jumbled letters'],
      [':upper', 'JUMBLED LETTERS'],
      [':upperfirst', 'JuMBlEd lETteRS'],
      [':upperfirst :lower', 'Jumbled letters'],
      [':lowerfirst :upper', 'jUMBLED LETTERS'],
    ]
    for (const [mods, want] of cases) {
      const out = run(`require ["variables", "fileinto"]; set "a" "juMBlEd lETteRS"; set ${mods} "b" "\${a}"; fileinto "\${b}";`, message({Subject: 'x'}))
      expect(summary(out), mods).toEqual([`fileinto:${want}`])
    }
    const q = run('require ["variables", "fileinto"]; set :quotewildcard "b" "Rock*"; if string :is "${b}" "Rock\\\\*" { fileinto "yes"; }', message({Subject: 'x'}))
    expect(summary(q)).toEqual(['fileinto:yes'])
  })
  it('the string test of §5; unknown variables are empty; :count skips empty strings', () => {
    const script = `require ["variables", "fileinto"];
set "state" "\${state} pending";
if string :matches " \${state} " "* pending *" { fileinto "ok"; }
if string :is "\${nothing}" "" { fileinto "empty"; }
`
    expect(summary(run(script, message({Subject: 'x'})))).toEqual(['fileinto:ok', 'fileinto:empty'])
    const count = 'require ["variables", "relational", "comparator-i;ascii-numeric", "fileinto"]; if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { fileinto "two"; }'
    expect(summary(run(count, message({Subject: 'x'})))).toEqual(['fileinto:two'])
  })
  it('without require "variables", ${…} is literal text', () => {
    expect(summary(run('require "fileinto"; fileinto "INBOX.${1}";', message({Subject: 'x'})))).toEqual(['fileinto:INBOX.${1}'])
  })
  it('match variables keep their values when a later test fails', () => {
    const script = `require ["variables", "fileinto"];
if header :matches "subject" "*-*" {}
if header :matches "subject" "no*match" {}
fileinto "\${1}";`
    expect(summary(run(script, message({Subject: 'left-right'})))).toEqual(['fileinto:left'])
  })
})

describe('RFC 5230: vacation', () => {
  const msg = message({From: 'Friend <friend@example.net>', To: 'Me <me@example.com>', Subject: 'about cyrus', 'Message-ID': '<m1@example.net>'})
  it('the first example: the reason follows the subject', () => {
    const script = `require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}`
    const out = run(script, msg, {from: 'friend@example.net'})
    expect(summary(out)).toEqual(['vacation', 'implicit-keep'])
    const v = out.actions[0]!
    if (v.type !== 'vacation') throw new Error('no vacation')
    expect(v).toMatchObject({to: 'friend@example.net', reason: "I'm out -- send mail to cyrus-bugs", subject: 'Auto: about cyrus', periodSeconds: 7 * 86400, inReplyTo: '<m1@example.net>', mime: false})
    expect(v.suppressed).toBeUndefined()
    expect(v.hash).toMatch(/^[0-9a-f]{64}$/)
  })
  it(':days, :addresses, :subject with a match variable, :from, :handle', () => {
    const script = `require ["vacation", "variables"];
if header :matches "subject" "*" {
  vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"] :subject "Automatic response to: \${1}" :from "tjs@example.edu" :handle "away"
    "I'm away until October 19.  If it's an emergency, call 911, I guess." ;
}`
    const out = run(script, message({From: 'x@example.net', To: 'ts4z@landru.example.edu', Subject: 'Lunch'}), {from: 'x@example.net', to: 'tjs@example.edu'})
    const v = out.actions[0]!
    if (v.type !== 'vacation') throw new Error('no vacation')
    expect(v).toMatchObject({periodSeconds: 23 * 86400, subject: 'Automatic response to: Lunch', from: 'tjs@example.edu', handle: 'away', addresses: ['tjs@example.edu', 'me@example.com', 'ts4z@landru.example.edu']})
    expect(v.suppressed).toBeUndefined()
  })
  it('one tracking hash per handle and sender', () => {
    const script = 'require "vacation"; vacation "away";'
    const hash = (from: string) => {
      const a = run(script, msg, {from}).actions[0]!
      return a.type === 'vacation' ? a.hash : ''
    }
    expect(hash('friend@example.net')).toBe(hash('FRIEND@example.net'))
    expect(hash('friend@example.net')).not.toBe(hash('other@example.net'))
  })
  it(':mime and :seconds (RFC 6131)', () => {
    const script = `require ["vacation", "vacation-seconds"];
vacation :seconds 3600 :mime text:
Content-Type: text/plain; charset=utf-8

Je suis absent.
.
;`
    const v = run(script, msg, {from: 'friend@example.net'}).actions[0]!
    expect(v).toMatchObject({type: 'vacation', mime: true, periodSeconds: 3600})
  })
  it('never answers null senders, lists, bulk, auto-submitted mail, or mail not addressed to the user (§4.5)', () => {
    const script = 'require "vacation"; vacation "away";'
    const suppressed = (m: Buffer, from = 'friend@example.net') => {
      const v = run(script, m, {from}).actions[0]!
      return v.type === 'vacation' ? v.suppressed : 'none'
    }
    expect(suppressed(msg, '')).toMatch(/null/)
    expect(suppressed(msg, 'owner-list@example.net')).toMatch(/list or a daemon/)
    expect(suppressed(msg, 'MAILER-DAEMON@example.net')).toMatch(/daemon/)
    expect(suppressed(message({From: 'a@example.net', To: 'me@example.com', 'List-Id': '<l.example.net>'}))).toMatch(/mailing list/)
    expect(suppressed(message({From: 'a@example.net', To: 'me@example.com', Precedence: 'bulk'}))).toMatch(/bulk/)
    expect(suppressed(message({From: 'a@example.net', To: 'me@example.com', 'Auto-Submitted': 'auto-replied'}))).toMatch(/auto-submitted/)
    expect(suppressed(message({From: 'a@example.net', To: 'me@example.com', 'Auto-Submitted': 'no'}))).toBeUndefined()
    expect(suppressed(message({From: 'a@example.net', To: 'list@example.com'}))).toMatch(/not in To/)
    expect(suppressed(message({From: 'a@example.net', To: 'x@example.org', Bcc: 'me+tag@example.com'}))).toBeUndefined()
  })
})

describe('RFC 5231: relational', () => {
  const script = `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] {
  fileinto "Priority";
} elsif address :count "gt" :comparator "i;ascii-numeric" ["to"] ["5"] {
  fileinto "Mailing List";
} elsif address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"] {
  fileinto "From N-Z";
} else {
  fileinto "From A-M";
}
if allof (address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] ["1"],
          address :all :comparator "i;ascii-casemap" ["to", "cc"] ["me@foo.example.com"]) {
  fileinto "Only me";
}`
  it('files by priority, recipient count and sender', () => {
    expect(summary(run(script, message({From: 'jane@example.com', To: 'me@foo.example.com', 'X-Priority': '1 (Highest)'})))).toEqual(['fileinto:Priority', 'fileinto:Only me'])
    const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `${x}@example.org`).join(', ')
    expect(summary(run(script, message({From: 'jane@example.com', To: six, 'X-Priority': '3'})))).toEqual(['fileinto:Mailing List'])
    expect(summary(run(script, message({From: 'zed@example.com', To: 'me@foo.example.com, x@example.org'})))).toEqual(['fileinto:From N-Z'])
    expect(summary(run(script, message({From: 'alice@example.com', To: 'x@example.org'})))).toEqual(['fileinto:From A-M'])
  })
  it('i;ascii-numeric: leading digits, a non-number is above every number', () => {
    const s = 'require ["relational", "comparator-i;ascii-numeric"]; if header :value "gt" :comparator "i;ascii-numeric" "x-score" "10" { discard; }'
    expect(summary(run(s, message({'X-Score': '011'})))).toEqual(['discard'])
    expect(summary(run(s, message({'X-Score': '9'})))).toEqual(['implicit-keep'])
    expect(summary(run(s, message({'X-Score': 'high'})))).toEqual(['discard'])
    expect(summary(run(s, message({'X-Score': '100000000000000000000000000000'})))).toEqual(['discard'])
  })
})

describe('RFC 5232: imap4flags', () => {
  it('the internal variable flags the implicit keep; :flags overrides it', () => {
    const script = `require ["imap4flags", "fileinto", "variables"];
if size :over 1K { setflag "\\\\Deleted"; }
if header :contains "from" "boss@frobnitzm.example.edu" {
  setflag "flagvar" "\\\\Flagged";
  fileinto :flags "\${flagvar}" "INBOX.From Boss";
}
addflag "\\\\Seen Junk";
addflag "junk";
removeflag "\\\\Deleted";
if hasflag :contains "jun" { addflag "$Tested"; }
if hasflag "flagvar" "\\\\flagged" { addflag "$Boss"; }`
    expect(summary(run(script, message({From: 'boss@frobnitzm.example.edu'}, 'x'.repeat(2000))))).toEqual(['fileinto:INBOX.From Boss [\\Flagged]'])
    expect(summary(run(script, message({From: 'a@example.org'})))).toEqual(['implicit-keep [\\Seen Junk $Tested]'])
    // the implicit keep takes the flags as they are at the end: $Boss was added after fileinto
    expect(summary(run(script.replace('fileinto :flags', 'fileinto :copy :flags').replace('"fileinto"', '"fileinto", "copy"'), message({From: 'boss@frobnitzm.example.edu'})))).toEqual([
      'fileinto:INBOX.From Boss [\\Flagged] copy',
      'implicit-keep [\\Seen Junk $Tested $Boss]',
    ])
  })
  it('keep and fileinto take the flags current when they run', () => {
    const script = 'require ["imap4flags", "fileinto"]; addflag "\\\\Seen"; fileinto "a"; setflag "\\\\Answered"; keep;'
    expect(summary(run(script, message({Subject: 'x'})))).toEqual(['fileinto:a [\\Seen]', 'keep [\\Answered]'])
  })
})

describe('RFC 5233: subaddress', () => {
  const script = `require ["envelope", "subaddress", "fileinto"];
if envelope :user "to" "postmaster" { fileinto "inbox.postmaster"; stop; }
if envelope :detail "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; stop; }
if address :detail :matches "to" "*" { fileinto "inbox.detail-\${1}"; stop; }
if envelope :detail "to" "" { fileinto "inbox.empty-detail"; }`
  it('user and detail parts', () => {
    expect(summary(run(script, message({To: 'x@example.com'}), {to: 'postmaster+abuse@example.com'}))).toEqual(['fileinto:inbox.postmaster'])
    expect(summary(run(script, message({To: 'x@example.com'}), {to: 'ken+mta-filters@example.com'}))).toEqual(['fileinto:inbox.ietf-mta-filters'])
    expect(summary(run(script, message({To: 'x@example.com'}), {to: 'ken+@example.com'}))).toEqual(['fileinto:inbox.empty-detail'])
    expect(summary(run(script, message({To: 'x@example.com'}), {to: 'ken@example.com'}))).toEqual(['implicit-keep'])
  })
})

describe('RFC 5173: body', () => {
  const multipart = Buffer.from(
    [
      'From: promo@example.net',
      'To: me@example.com',
      'Subject: offer',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: multipart/alternative; boundary="b2"',
      '',
      '--b2',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Gagnez de l’argent: MAKE MONEY FAST\r\n').toString('base64'),
      '--b2',
      'Content-Type: text/html; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>Cr=E9dit <b>refinancing</b> now</p>',
      '--b2--',
      '--b1',
      'Content-Type: application/msword',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('confidential mortgage terms').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
  )
  it(':text decodes text parts (base64, quoted-printable, charsets, HTML to text)', () => {
    expect(summary(run('require "body"; if body :text :contains "MAKE MONEY FAST" { discard; }', multipart))).toEqual(['discard'])
    expect(summary(run('require "body"; if body :contains "Crédit refinancing" { discard; }', multipart))).toEqual(['discard'])
    expect(summary(run('require "body"; if body :text :contains "<b>" { discard; }', multipart))).toEqual(['implicit-keep'])
  })
  it(':content selects parts by type; :raw sees the undecoded body', () => {
    const s = (t: string) => `require ["body", "fileinto"]; if body ${t} { fileinto "hit"; }`
    expect(summary(run(s(':content "application/msword" :contains "mortgage"'), multipart))).toEqual(['fileinto:hit'])
    expect(summary(run(s(':content "text" :contains "mortgage"'), multipart))).toEqual(['implicit-keep'])
    expect(summary(run(s(':content "text/html" :contains "<b>refinancing</b>"'), multipart))).toEqual(['fileinto:hit'])
    expect(summary(run(s(':raw :contains "Cr=E9dit"'), multipart))).toEqual(['fileinto:hit'])
    expect(summary(run(s(':raw :contains "MAKE MONEY"'), multipart))).toEqual(['implicit-keep'])
  })
})

describe('RFC 5260: date and currentdate', () => {
  it('files mail from the boss sent during office hours in its own zone', () => {
    const script = `require ["date", "relational", "fileinto"];
if allof(header :is "from" "boss@example.com",
         date :value "ge" :originalzone "date" "hour" "09",
         date :value "lt" :originalzone "date" "hour" "17")
{ fileinto "urgent"; }`
    expect(summary(run(script, message({From: 'boss@example.com', Date: 'Tue, 1 Dec 2026 10:15:00 -0800'})))).toEqual(['fileinto:urgent'])
    expect(summary(run(script, message({From: 'boss@example.com', Date: 'Tue, 1 Dec 2026 18:15:00 -0800'})))).toEqual(['implicit-keep'])
    expect(summary(run(script, message({From: 'boss@example.com', Date: 'not a date'})))).toEqual(['implicit-keep'])
  })
  it('a vacation for a date range; files by month and year; :zone converts', () => {
    const range = `require ["date", "relational", "vacation"];
if allof(currentdate :value "ge" "date" "2007-06-30",
         currentdate :value "le" "date" "2007-07-07")
{ vacation :days 7  "I'm away during the first week in July."; }`
    const msg = message({From: 'a@example.net', To: 'me@example.com'})
    expect(summary(run(range, msg, {now: new Date('2007-07-02T12:00:00Z')}))).toEqual(['vacation', 'implicit-keep'])
    expect(summary(run(range, msg, {now: new Date('2007-07-09T12:00:00Z')}))).toEqual(['implicit-keep'])
    const byMonth = `require ["date", "variables", "fileinto"];
if currentdate :zone "+0000" :matches "month" "*" { set "month" "\${1}"; }
if currentdate :zone "+0000" :matches "year"  "*" { set "year" "\${1}"; }
fileinto "\${month}-\${year}";`
    expect(summary(run(byMonth, msg, {now: new Date('2026-03-31T23:30:00Z')}))).toEqual(['fileinto:03-2026'])
    const zoned = 'require ["date", "fileinto", "variables"]; if date :zone "+0100" :matches "date" "iso8601" "*" { fileinto "${1}"; }'
    expect(summary(run(zoned, message({Date: 'Tue, 31 Mar 2026 23:30:00 +0000'})))).toEqual(['fileinto:2026-04-01T00:30:00+01:00'])
    const parts = 'require ["date", "fileinto", "variables"]; if date :originalzone :matches "date" "std11" "*" { set "a" "${1}"; } if date :originalzone :is "date" "weekday" "2" { if date :originalzone :is "date" "julian" "61130" { fileinto "${a}"; } }'
    expect(summary(run(parts, message({Date: 'Tue, 31 Mar 2026 23:30:00 -0500'})))).toEqual(['fileinto:Tue, 31 Mar 2026 23:30:00 -0500'])
  })
})

describe('RFC 5429: reject and ereject', () => {
  it('reject cancels the implicit keep and carries the reason', () => {
    const out = run('require "reject"; if header :contains "subject" "viagra" { reject "No thanks."; }', message({Subject: 'cheap viagra'}))
    expect(summary(out)).toEqual(['reject:No thanks.'])
    expect(summary(run('require "ereject"; ereject "Go away.";', message({Subject: 'x'})))).toEqual(['ereject:Go away.'])
  })
  it('reject with fileinto, or twice, is a runtime error: the message is kept', () => {
    const out = run('require ["reject", "fileinto"]; fileinto "x"; reject "no";', message({Subject: 'x'}))
    expect(summary(out)).toEqual(['implicit-keep'])
    expect(out.errors[0]).toMatch(/reject cannot be combined with fileinto/)
    expect(run('require ["reject", "ereject"]; reject "a"; ereject "b";', message({Subject: 'x'})).errors[0]).toMatch(/already rejected/)
  })
})

describe('regex (draft-ietf-sieve-regex) on RE2', () => {
  it('matches and fills match variables from groups', () => {
    const s = 'require ["regex", "variables", "fileinto"]; if header :regex "subject" "^\\\\[([a-z-]+)\\\\] (.*)$" { fileinto "${1}/${2}"; }'
    expect(summary(run(s, message({Subject: '[Acme-Users] news'})))).toEqual(['fileinto:Acme-Users/news'])
  })
})

describe('RFC 5490: mailbox', () => {
  it('mailboxexists asks the caller; fileinto :create is passed on', () => {
    const script = 'require ["mailbox", "fileinto"]; if mailboxexists ["Lists", "Lists/Dev"] { fileinto "Lists/Dev"; } else { fileinto :create "Lists/New"; }'
    const input = (names: string[]) => ({envelope: {from: 'a@example.net', to: 'me@example.com'}, message: message({Subject: 'x'}), user: 'me', now: new Date(), mailboxExists: (n: string) => names.includes(n)})
    expect(summary(runSieve(compile(script), input(['Lists', 'Lists/Dev'])))).toEqual(['fileinto:Lists/Dev'])
    expect(summary(runSieve(compile(script), input(['Lists'])))).toEqual(['fileinto:Lists/New create'])
  })
})

describe('details the README promises', () => {
  it('address tests parse groups, comments and quoted local parts', () => {
    const msg = message({To: 'Team: "j doe"@example.org (John), Ann <ann@example.org>;, bob@example.net'})
    const s = 'require "fileinto"; if address :is :localpart "to" "j doe" { fileinto "quoted"; } if address :count "eq" :comparator "i;ascii-numeric" "to" "3" { fileinto "three"; }'
    expect(summary(run(s.replace('require "fileinto";', 'require ["fileinto", "relational", "comparator-i;ascii-numeric"];'), msg))).toEqual(['fileinto:quoted', 'fileinto:three'])
  })
  it('i;ascii-casemap folds ASCII letters only, in long texts too', () => {
    const msg = message({Subject: 'x'}, 'filler '.repeat(100) + 'Café crème\r\n')
    expect(summary(run('require "body"; if body :contains "CAFÉ CRÈME" { discard; }', msg))).toEqual(['implicit-keep'])
    expect(summary(run('require "body"; if body :contains "CAFé CRèME" { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('if header :is "subject" "É" { discard; }', message({Subject: 'é'})))).toEqual(['implicit-keep'])
  })
  it('body :content "" looks at every leaf part', () => {
    const msg = Buffer.from('Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\nsecret blob\r\n--x--\r\n')
    expect(summary(run('require "body"; if body :content "" :contains "secret blob" { discard; }', msg))).toEqual(['discard'])
    expect(summary(run('require "body"; if body :text :contains "secret blob" { discard; }', msg))).toEqual(['implicit-keep'])
  })
  it('size counts the message with CRLF line endings, as on the wire', () => {
    const lf = Buffer.from('Subject: x\n\nabc\n') // 16 bytes, 19 with CRLF
    expect(summary(run('if size :over 18 { discard; }', lf))).toEqual(['discard'])
    expect(summary(run('if size :over 19 { discard; }', lf))).toEqual(['implicit-keep'])
  })
  it('vacation :days is at least one day', () => {
    const out = run('require "vacation"; vacation :days 0 "x";', message({From: 'a@example.net', To: 'me@example.com'}), {from: 'a@example.net'})
    expect(out.actions[0]).toMatchObject({type: 'vacation', periodSeconds: 86400})
  })
  it('the envelope null sender is "" in every address part', () => {
    expect(summary(run('require "envelope"; if envelope :domain "from" "" { discard; }', message({Subject: 'x'}), {from: ''}))).toEqual(['discard'])
  })
})

describe('RFC 5228 §2.4.2.4: encoded-character', () => {
  it('decodes ${hex:…} and ${unicode:…}; a malformed one stays as written', () => {
    const s = 'require ["encoded-character", "fileinto"]; if header :contains "subject" "${hex: 52 c3 a9}union" { fileinto "${unicode:1F600} ${hex:zz}"; }'
    expect(summary(run(s, message({Subject: 'Réunion'})))).toEqual(['fileinto:\u{1F600} ${hex:zz}'])
  })
  it('is literal text without the require', () => {
    expect(summary(run('require "fileinto"; fileinto "${hex:41}";', message({Subject: 'x'})))).toEqual(['fileinto:${hex:41}'])
  })
})
