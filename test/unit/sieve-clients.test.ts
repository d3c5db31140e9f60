/**
 * Scripts as mail clients' filter editors write them: Roundcube's managesieve plugin (one
 * "# rule:[name]" block per rule, disabled rules as `if false #`, vacation with a date range)
 * and Thunderbird's Sieve add-on. Each runs on realistic messages.
 */
import {describe, expect, it} from 'vitest'
import {SIEVE_CAPABILITIES} from '../../src/sieve/index.js'
import {message, run, summary} from './sieve-helpers.js'

const roundcube = `require ["fileinto","imap4flags","copy","vacation","date","relational","envelope","mailbox"];
# rule:[Mailing lists]
if anyof (header :contains "list-id" "dev.lists.example.org", header :contains "list-id" "users.lists.example.org")
{
	fileinto "Lists/Dev";
	stop;
}
# rule:[Boss]
if allof (header :contains "from" "boss@example.com", header :contains "subject" "urgent")
{
	addflag "\\\\Flagged";
	fileinto :copy "Important";
}
# rule:[Newsletters read]
if anyof (header :contains "from" "newsletter@", header :contains "subject" "[newsletter]")
{
	fileinto :create :flags "\\\\Seen" "Newsletters";
	stop;
}
# rule:[old rule]
if false # anyof (header :contains "subject" "never")
{
	discard;
	stop;
}
# rule:[Forward invoices]
if allof (header :contains "subject" "invoice", not header :contains "from" "@example.com", size :under 5M)
{
	redirect :copy "accounting@example.org";
}
# rule:[Out of office]
if allof (currentdate :zone "+0100" :value "ge" "date" "2026-12-20", currentdate :zone "+0100" :value "le" "date" "2027-01-06")
{
	vacation :days 1 :addresses ["me@example.com","me.alias@example.com"] :subject "Out of office" :from "Me <me@example.com>" "I'm away until January 6th. For urgent matters call +1 555 0100.";
}
`

const thunderbird = `require ["fileinto","reject","envelope"];

# Spam senders
if address :contains ["From","Sender"] ["@spammer.example","@junk.example"]
{
  discard;
  stop;
}

# Patches
if header :contains ["Subject"] ["[PATCH]","[RFC]"]
{
  fileinto "Patches";
}

if allof (envelope :domain :is "from" "partner.example", exists "X-Priority")
{
  fileinto "Partners";
}

if header :matches "Subject" "*unsubscribe*"
{
  reject "Please do not send unsubscribe requests to me.";
}
`

describe('Roundcube managesieve scripts', () => {
  const opts = (now: string) => ({from: 'sender@example.net', now: new Date(now)})
  it('files list mail by List-Id and stops', () => {
    const out = run(roundcube, message({From: 'a@example.net', To: 'dev@lists.example.org', 'List-Id': 'Dev list <dev.lists.example.org>', Subject: 'urgent'}), opts('2026-12-01T12:00:00Z'))
    expect(summary(out)).toEqual(['fileinto:Lists/Dev'])
  })
  it('flags and copies the boss, keeps the flagged message in INBOX too', () => {
    const out = run(roundcube, message({From: 'The Boss <boss@example.com>', To: 'me@example.com', Subject: 'URGENT: call me'}), opts('2026-12-01T12:00:00Z'))
    expect(summary(out)).toEqual(['fileinto:Important [\\Flagged] copy', 'implicit-keep [\\Flagged]'])
  })
  it('files newsletters as read, creating the folder', () => {
    const out = run(roundcube, message({From: 'Shop <newsletter@shop.example>', To: 'me@example.com', Subject: 'Deals'}), opts('2026-12-01T12:00:00Z'))
    expect(summary(out)).toEqual(['fileinto:Newsletters [\\Seen] create'])
  })
  it('forwards outside invoices with a copy kept', () => {
    const out = run(roundcube, message({From: 'billing@vendor.example', To: 'me@example.com', Subject: 'Invoice 42'}), opts('2026-12-01T12:00:00Z'))
    expect(summary(out)).toEqual(['redirect:accounting@example.org copy', 'implicit-keep'])
    expect(summary(run(roundcube, message({From: 'billing@example.com', To: 'me@example.com', Subject: 'Invoice 42'}), opts('2026-12-01T12:00:00Z')))).toEqual(['implicit-keep'])
  })
  it('answers while away, with everything the reply needs', () => {
    const msg = message({From: 'Friend <friend@example.net>', To: 'me.alias@example.com', Subject: 'Lunch?', 'Message-ID': '<abc@example.net>', References: '<prev@example.net>'})
    const out = run(roundcube, msg, {from: 'friend@example.net', now: new Date('2026-12-24T09:00:00Z')})
    expect(summary(out)).toEqual(['vacation', 'implicit-keep'])
    expect(out.actions[0]).toMatchObject({
      type: 'vacation',
      to: 'friend@example.net',
      subject: 'Out of office',
      from: 'Me <me@example.com>',
      addresses: ['me@example.com', 'me.alias@example.com'],
      periodSeconds: 86400,
      inReplyTo: '<abc@example.net>',
      references: '<prev@example.net> <abc@example.net>',
    })
    expect(summary(run(roundcube, msg, {from: 'friend@example.net', now: new Date('2027-01-07T09:00:00Z')}))).toEqual(['implicit-keep'])
  })
  it('the capability list covers every extension Roundcube requires here', () => {
    for (const ext of ['fileinto', 'imap4flags', 'copy', 'vacation', 'date', 'relational', 'envelope', 'mailbox']) expect(SIEVE_CAPABILITIES).toContain(ext)
  })
})

describe("Thunderbird Sieve add-on scripts", () => {
  it('discards known spammers by From or Sender', () => {
    expect(summary(run(thunderbird, message({From: 'x@junk.example', Subject: '[PATCH] x'})))).toEqual(['discard'])
    expect(summary(run(thunderbird, message({From: 'a@example.org', Sender: 'bulk@spammer.example', Subject: 'x'})))).toEqual(['discard'])
  })
  it('files patches, and partners by envelope domain when a priority is set', () => {
    expect(summary(run(thunderbird, message({From: 'dev@example.org', Subject: 'Re: [PATCH] fix'})))).toEqual(['fileinto:Patches'])
    expect(summary(run(thunderbird, message({From: 'p@partner.example', Subject: '[RFC] idea', 'X-Priority': '2'}), {from: 'bounce@PARTNER.example'}))).toEqual(['fileinto:Patches', 'fileinto:Partners'])
    expect(summary(run(thunderbird, message({From: 'p@partner.example', Subject: 'hello'}), {from: 'bounce@partner.example'}))).toEqual(['implicit-keep'])
  })
  it('rejects unsubscribe requests', () => {
    expect(summary(run(thunderbird, message({From: 'a@example.org', Subject: 'please UNSUBSCRIBE me'})))).toEqual(['reject:Please do not send unsubscribe requests to me.'])
  })
})
