/**
 * The folders SORT and THREAD are tested on, as APPENDs (message bytes and internal date), so
 * the same folders can be made on mailbox and on the Dovecot peer and the answers compared.
 */

export interface Appended {
  raw: string
  /** IMAP date-time for APPEND (the internal date) */
  internalDate: string
}

function message(headers: (string | undefined)[], body = 'Body.'): string {
  return [...headers.filter((h): h is string => h !== undefined), '', body, ''].join('\r\n')
}

/** Seven messages that put every SORT key through its rules (RFC 5256 §2.1 base subjects, addresses, dates). */
export const SORTING: Appended[] = [
  {raw: message(['From: Zed <zed@x.test>', 'To: bob@y.test', 'Subject: Re: hello', 'Date: Fri, 5 Jan 2024 10:00:00 +0000', 'Message-ID: <s1@x.test>']), internalDate: '"07-Jan-2024 10:00:00 +0000"'},
  {raw: message(['From: adam@x.test', 'To: Carl <carl@y.test>', 'Cc: dora@z.test', 'Subject: Hello (fwd)', 'Date: Wed, 3 Jan 2024 10:00:00 +0000', 'Message-ID: <s2@x.test>'], 'A longer body than the others.\r\n'.repeat(5)), internalDate: '"03-Jan-2024 10:00:00 +0000"'},
  {raw: message(['From: =?UTF-8?B?w4lsaXNl?= <elise@x.test>', 'To: Amy <amy@y.test>', 'Subject: [list] Apple', 'Message-ID: <s3@x.test>']), internalDate: '"02-Jan-2024 12:00:00 +0000"'},
  {raw: message(['From: Bea <Bea@x.test>', 'To: "Zoe Q." <zoe@y.test>', 'Cc: anna@z.test', 'Subject: =?UTF-8?Q?Fwd:_Re:_banana?=', 'Date: Thu, 4 Jan 2024 01:00:00 -0800', 'Message-ID: <s4@x.test>']), internalDate: '"01-Jan-2024 10:00:00 +0000"'},
  {raw: message(['From: Yan <yan@x.test>', 'To: undisclosed-recipients:;', 'Subject: [fwd: Zebra]', 'Date: Tue, 2 Jan 2024 10:00:00 +0000', 'Message-ID: <s5@x.test>'], 'x'), internalDate: '"05-Jan-2024 10:00:00 +0000"'},
  {raw: message(['From: carl@x.test', 'To: Bob <bob@y.test>', 'Cc: Carl <carl@z.test>', 'Subject: re: [blob] re: apple', 'Date: Wed, 3 Jan 2024 10:00:00 +0000', 'Message-ID: <s6@x.test>']), internalDate: '"04-Jan-2024 10:00:00 +0000"'},
  {raw: message(['From: MAILER-DAEMON', 'Subject:   ', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID: <s7@x.test>']), internalDate: '"06-Jan-2024 10:00:00 +0000"'},
]

const at = (minute: number) => new Date(Date.UTC(2024, 1, 1, 0, minute)).toUTCString().replace('GMT', '+0000')
const internal = (minute: number) => {
  const d = new Date(Date.UTC(2024, 1, 1, 0, minute))
  const pad = (n: number) => String(n).padStart(2, '0')
  return `"${pad(d.getUTCDate())}-Feb-2024 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:00 +0000"`
}

/**
 * 96 messages: 2, 3, 4, 6, 7, 23, 44 and 96 form RFC 5256's example tree
 * `(2)(3 6 (4 23)(44 7 96))` (replies linked by References, some arriving before their parent);
 * the others are unrelated filler with subjects of their own.
 */
export function rfcTree(): Appended[] {
  const refs: Record<number, {subject: string; references?: number[]}> = {
    2: {subject: 'Two'},
    3: {subject: 'Three'},
    6: {subject: 'Re: Three', references: [3]},
    4: {subject: 'Re: Three', references: [3, 6]},
    23: {subject: 'Re: Three', references: [3, 6, 4]},
    44: {subject: 'Re: Three', references: [3, 6]},
    7: {subject: 'Re: Three', references: [3, 6, 44]},
    96: {subject: 'Re: Three', references: [3, 6, 44, 7]},
  }
  // sent dates: the tree's own order (3, 6, 4, 23, 44, 7, 96), every filler later
  const dateOrder = [2, 3, 6, 4, 23, 44, 7, 96]
  const out: Appended[] = []
  for (let n = 1; n <= 96; n++) {
    const r = refs[n]
    const minute = r ? dateOrder.indexOf(n) : 100 + n
    out.push({
      raw: message([
        'From: Tree <tree@x.test>',
        'To: alice@example.test',
        `Subject: ${r ? r.subject : `Filler ${n}`}`,
        `Date: ${at(minute)}`,
        `Message-ID: <t${n}@x.test>`,
        r?.references ? `References: ${r.references.map((k) => `<t${k}@x.test>`).join(' ')}` : undefined,
      ]),
      internalDate: internal(n),
    })
  }
  return out
}

/**
 * REFERENCES' harder steps: a parent that is missing (a dummy with two children stays at the
 * top; one with one child gives way to it), In-Reply-To without References, a Message-ID twice,
 * a reference loop, threads gathered by base subject (a reply joining an original, two
 * originals under a new dummy), and no Message-ID at all.
 */
export const MERGING: Appended[] = [
  // 1, 2: replies to a message that is not there: a dummy parent with two children
  {raw: message(['From: a@x.test', 'Subject: Re: Lost', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID: <m1@x.test>', 'References: <gone@x.test>'])},
  {raw: message(['From: b@x.test', 'Subject: Re: Lost', 'Date: Mon, 1 Jan 2024 09:00:00 +0000', 'Message-ID: <m2@x.test>', 'In-Reply-To: <gone@x.test>'])},
  // 3: a lone reply to a missing message: the dummy gives way to it
  {raw: message(['From: c@x.test', 'Subject: Re: Alone', 'Date: Mon, 1 Jan 2024 11:00:00 +0000', 'Message-ID: <m3@x.test>', 'References: <gone2@x.test> <gone3@x.test>'])},
  // 4, 5: an original and a reply that does not reference it, joined by subject
  {raw: message(['From: d@x.test', 'Subject: Topic', 'Date: Mon, 1 Jan 2024 12:00:00 +0000', 'Message-ID: <m4@x.test>'])},
  {raw: message(['From: e@x.test', 'Subject: Re: topic', 'Date: Mon, 1 Jan 2024 13:00:00 +0000', 'Message-ID: <m5@x.test>'])},
  // 6, 7: two originals with one subject: a new dummy over both
  {raw: message(['From: f@x.test', 'Subject: Same', 'Date: Mon, 1 Jan 2024 14:00:00 +0000', 'Message-ID: <m6@x.test>'])},
  {raw: message(['From: g@x.test', 'Subject: Same', 'Date: Mon, 1 Jan 2024 08:00:00 +0000', 'Message-ID: <m7@x.test>'])},
  // 8: the Message-ID of 4 again: a container of its own
  {raw: message(['From: h@x.test', 'Subject: Duplicate', 'Date: Mon, 1 Jan 2024 15:00:00 +0000', 'Message-ID: <m4@x.test>'])},
  // 9, 10: each references the other: no loop
  {raw: message(['From: i@x.test', 'Subject: Loop', 'Date: Mon, 1 Jan 2024 16:00:00 +0000', 'Message-ID: <m9@x.test>', 'References: <m10@x.test>'])},
  {raw: message(['From: j@x.test', 'Subject: Re: Loop', 'Date: Mon, 1 Jan 2024 17:00:00 +0000', 'Message-ID: <m10@x.test>', 'References: <m9@x.test>'])},
  // 11: no Message-ID, no subject
  {raw: message(['From: k@x.test', 'Date: Mon, 1 Jan 2024 07:00:00 +0000'])},
  // 12: a reply to 6 by References, later than everything
  {raw: message(['From: l@x.test', 'Subject: Re: Same', 'Date: Mon, 1 Jan 2024 18:00:00 +0000', 'Message-ID: <m12@x.test>', 'References: <m6@x.test>'])},
].map((m, i) => ({...m, internalDate: `"${String(10 + i).padStart(2, '0')}-Mar-2024 10:00:00 +0000"`}))
