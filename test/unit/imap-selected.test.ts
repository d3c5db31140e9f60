import {describe, expect, it} from 'vitest'
import {SelectedMailbox} from '../../src/imap/selected.js'
import {viewOf, type MailboxView} from '../../src/mailstore/mailbox-view.js'
import type {MailboxRecord, MessageRecord} from '../../src/store/records.js'

const folderRecord = (highestModseq: number, messages: number): MailboxRecord => ({
  id: 7,
  user: 'u@example.com',
  name: 'INBOX',
  uidValidity: 1000,
  uidNext: 1000,
  highestModseq,
  subscribed: true,
  messages,
  unseen: 0,
  size: 0,
  createdAt: 0,
})

const rec = (uid: number, modseq = 1, flags: string[] = []): MessageRecord => ({uid, blobId: `b${uid}`, flags, internalDate: 0, size: 10, modseq})

/** a view of the given records; HIGHESTMODSEQ is the largest record modseq unless given */
function view(records: MessageRecord[], highestModseq = Math.max(1, ...records.map((r) => r.modseq))): MailboxView {
  return viewOf(folderRecord(highestModseq, records.length), records)
}

const recs = (...uids: number[]) => uids.map((uid) => rec(uid))
const open = (v: MailboxView, recent?: [number, number]) => new SelectedMailbox(7, 'INBOX', 1000, false, v, recent)

describe('SelectedMailbox basics', () => {
  it('takes its sequence numbers from the view', () => {
    const s = open(view(recs(3, 5, 9)))
    expect(s.uids).toEqual([3, 5, 9])
    expect(s.exists).toBe(3)
    expect([s.seqOf(3), s.seqOf(5), s.seqOf(9), s.seqOf(4), s.seqOf(10), s.seqOf(1)]).toEqual([1, 2, 3, 0, 0, 0])
  })

  it('nothing changed: nothing to say', () => {
    const v = view(recs(1, 2, 3))
    const s = open(v)
    s.dirty = true
    expect(s.catchUp(v, true)).toEqual([])
    expect(s.catchUp(view(recs(1, 2, 3)), false)).toEqual([])
    expect(s.dirty).toBe(false)
  })
})

describe('SelectedMailbox.catchUp: expunges', () => {
  it('sends ascending EXPUNGEs, each adjusted for the ones before it', () => {
    const s = open(view(recs(1, 2, 3, 4, 5, 6)))
    const lines = s.catchUp(view(recs(1, 3, 6)), true)
    // uid 2 is seq 2; then uid 4 (was seq 4) is seq 3; then uid 5 (was seq 5) is seq 3 again
    expect(lines).toEqual(['* 2 EXPUNGE\r\n', '* 3 EXPUNGE\r\n', '* 3 EXPUNGE\r\n'])
    expect(s.uids).toEqual([1, 3, 6])
    expect(s.seqOf(6)).toBe(3)
  })

  it('expunging the first and the last', () => {
    const s = open(view(recs(10, 20, 30)))
    expect(s.catchUp(view(recs(20)), true)).toEqual(['* 1 EXPUNGE\r\n', '* 2 EXPUNGE\r\n'])
    expect(s.uids).toEqual([20])
  })

  it('held expunges (FETCH, STORE, SEARCH) keep ghosts with their sequence numbers', () => {
    const s = open(view(recs(1, 2, 3, 4)))
    const after = view(recs(1, 4))
    expect(s.catchUp(after, false)).toEqual([])
    expect(s.uids).toEqual([1, 2, 3, 4])
    expect(s.exists).toBe(4)
    expect(s.seqOf(4)).toBe(4)
    // later, when expunges may be sent
    expect(s.catchUp(after, true)).toEqual(['* 2 EXPUNGE\r\n', '* 2 EXPUNGE\r\n'])
    expect(s.uids).toEqual([1, 4])
  })

  it('never says "* 0 EXISTS" after everything was expunged', () => {
    const s = open(view(recs(1, 2, 3)))
    expect(s.catchUp(view([]), true)).toEqual(['* 1 EXPUNGE\r\n', '* 1 EXPUNGE\r\n', '* 1 EXPUNGE\r\n'])
    expect(s.exists).toBe(0)
    expect(s.catchUp(view([]), true)).toEqual([])
  })

  it('expunge() (a MOVE this session reports itself) returns the EXPUNGE lines', () => {
    const s = open(view(recs(1, 2, 3, 4, 5)))
    expect(s.expunge(new Set([2, 3, 5, 99]))).toEqual(['* 2 EXPUNGE\r\n', '* 2 EXPUNGE\r\n', '* 3 EXPUNGE\r\n'])
    expect(s.uids).toEqual([1, 4])
    // the view without them: nothing more to say
    expect(s.catchUp(view(recs(1, 4)), true)).toEqual([])
  })
})

describe('SelectedMailbox.catchUp: new messages', () => {
  it('EXISTS (and RECENT) only when messages were added', () => {
    const s = open(view(recs(1, 2)))
    expect(s.catchUp(view(recs(1, 2, 5, 6)), true)).toEqual(['* 4 EXISTS\r\n', '* 0 RECENT\r\n'])
    expect(s.uids).toEqual([1, 2, 5, 6])
    expect(s.catchUp(view(recs(1, 2, 5, 6)), true)).toEqual([])
  })

  it('expunges and additions together: EXPUNGEs first, then the new count', () => {
    const s = open(view(recs(1, 2, 3)))
    expect(s.catchUp(view(recs(2, 4)), true)).toEqual(['* 1 EXPUNGE\r\n', '* 2 EXPUNGE\r\n', '* 2 EXISTS\r\n', '* 0 RECENT\r\n'])
    expect(s.uids).toEqual([2, 4])
  })

  it('the last known message expunged and new ones added', () => {
    const s = open(view(recs(1, 2, 3)))
    expect(s.catchUp(view(recs(1, 7)), true)).toEqual(['* 2 EXPUNGE\r\n', '* 2 EXPUNGE\r\n', '* 2 EXISTS\r\n', '* 0 RECENT\r\n'])
    expect(s.uids).toEqual([1, 7])
  })

  it('all expunged and new ones added', () => {
    const s = open(view(recs(1, 2)))
    expect(s.catchUp(view(recs(3)), true)).toEqual(['* 1 EXPUNGE\r\n', '* 1 EXPUNGE\r\n', '* 1 EXISTS\r\n', '* 0 RECENT\r\n'])
  })

  it('with held expunges the count includes the ghosts', () => {
    const s = open(view(recs(1, 2, 3)))
    expect(s.catchUp(view(recs(1, 4)), false)).toEqual(['* 4 EXISTS\r\n', '* 0 RECENT\r\n'])
    expect(s.uids).toEqual([1, 2, 3, 4])
    expect(s.seqOf(4)).toBe(4)
    expect(s.catchUp(view(recs(1, 4)), true)).toEqual(['* 2 EXPUNGE\r\n', '* 2 EXPUNGE\r\n'])
    expect(s.uids).toEqual([1, 4])
  })

  it('an empty folder getting its first message', () => {
    const s = open(view([]))
    expect(s.catchUp(view(recs(1)), true, [1, 2])).toEqual(['* 1 EXISTS\r\n', '* 1 RECENT\r\n'])
  })
})

describe('SelectedMailbox.catchUp: flag changes', () => {
  it('a message whose MODSEQ went up gets an untagged FETCH with its flags', () => {
    const s = open(view([rec(1, 2), rec(2, 3), rec(3, 4)]))
    const lines = s.catchUp(view([rec(1, 2), rec(2, 6, ['\\Seen']), rec(3, 5, ['\\Flagged', '$Work'])]), true)
    // $Work is new to the client: FLAGS and PERMANENTFLAGS list it before the FETCH that shows it
    expect(lines).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n',
      '* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n',
      '* 3 FETCH (UID 3 FLAGS (\\Flagged $Work))\r\n',
    ])
    // told once
    expect(s.catchUp(view([rec(1, 2), rec(2, 6, ['\\Seen']), rec(3, 5, ['\\Flagged', '$Work'])]), true)).toEqual([])
  })

  it('flags cleared: an empty list', () => {
    const s = open(view([rec(1, 2, ['\\Seen'])]))
    expect(s.catchUp(view([rec(1, 3)]), true)).toEqual(['* 1 FETCH (UID 1 FLAGS ())\r\n'])
  })

  it("the session's own changes are not echoed back; others' are", () => {
    const s = open(view([rec(1, 1), rec(2, 1), rec(3, 1)], 1))
    // this session stored \Seen on 1 (modseq 2); another session flagged 3 (modseq 3)
    s.noteOwnChange([rec(1, 2, ['\\Seen'])], {told: false, modseqBefore: 1})
    const after = view([rec(1, 2, ['\\Seen']), rec(2, 1), rec(3, 3, ['\\Flagged'])])
    expect(s.catchUp(after, true)).toEqual(['* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\n'])
    // another session then changes message 1 again: that one is reported
    expect(s.catchUp(view([rec(1, 4, ['\\Seen', '\\Answered']), rec(2, 1), rec(3, 3, ['\\Flagged'])]), true)).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Seen \\Answered))\r\n'])
  })

  it('a .SILENT change made on top of one the client was not told about is reported with the flags', () => {
    const s = open(view([rec(1, 1), rec(2, 1)], 1))
    // another session flagged 1 (modseq 2); this one, not caught up, stored +\Seen .SILENT (modseq 3)
    s.noteOwnChange([rec(1, 3, ['\\Flagged', '\\Seen'])], {told: false, modseqBefore: 2})
    expect(s.catchUp(view([rec(1, 3, ['\\Flagged', '\\Seen']), rec(2, 1)]), true)).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))\r\n'])
    // a reply that showed the flags needs no report, whatever came before
    s.noteOwnChange([rec(2, 5, ['\\Draft'])], {told: true})
    expect(s.catchUp(view([rec(1, 3, ['\\Flagged', '\\Seen']), rec(2, 5, ['\\Draft'])], 5), true)).toEqual([])
  })

  it('new messages are announced by EXISTS, not by FETCH', () => {
    const s = open(view(recs(1)))
    expect(s.catchUp(view([rec(1), rec(2, 5, ['\\Seen'])]), true)).toEqual(['* 2 EXISTS\r\n', '* 0 RECENT\r\n'])
  })

  it('sequence numbers in FETCH follow the expunges sent just before', () => {
    const s = open(view([rec(1), rec(2), rec(3), rec(4)], 1))
    const lines = s.catchUp(view([rec(1), rec(4, 7, ['\\Deleted'])], 8), true)
    expect(lines).toEqual(['* 2 EXPUNGE\r\n', '* 2 EXPUNGE\r\n', '* 2 FETCH (UID 4 FLAGS (\\Deleted))\r\n'])
  })

  it('sequence numbers in FETCH count the ghosts while expunges are held', () => {
    const s = open(view([rec(1), rec(2), rec(3), rec(4)], 1))
    expect(s.catchUp(view([rec(1), rec(4, 7, ['\\Deleted'])], 8), false)).toEqual(['* 4 FETCH (UID 4 FLAGS (\\Deleted))\r\n'])
  })

  it('a change the client was not told about yet is reported only once it knows the message', () => {
    const s = open(view(recs(1)))
    // message 2 arrives and is flagged before this session catches up: EXISTS only
    expect(s.catchUp(view([rec(1), rec(2, 9, ['\\Seen'])]), true)).toEqual(['* 2 EXISTS\r\n', '* 0 RECENT\r\n'])
    expect(s.catchUp(view([rec(1), rec(2, 10, [])]), true)).toEqual(['* 2 FETCH (UID 2 FLAGS ())\r\n'])
  })
})

describe('SelectedMailbox: \\Recent', () => {
  it('the range claimed at SELECT', () => {
    const s = open(view(recs(1, 2, 3, 4, 5)), [3, 6])
    expect(s.recentCount).toBe(3)
    expect([1, 2, 3, 4, 5].map((u) => s.isRecent(u))).toEqual([false, false, true, true, true])
    expect(s.flagsOf(rec(4, 1, ['\\Seen']))).toBe('(\\Seen \\Recent)')
    expect(s.flagsOf(rec(2, 1, ['\\Seen']))).toBe('(\\Seen)')
  })

  it('no range, or an empty one: nothing is recent', () => {
    expect(open(view(recs(1, 2))).recentCount).toBe(0)
    expect(open(view(recs(1, 2)), [3, 3]).recentCount).toBe(0)
  })

  it('new messages claimed with the catch-up add to the count', () => {
    const s = open(view(recs(1, 2, 3)), [3, 4])
    expect(s.catchUp(view(recs(1, 2, 3, 4, 5)), true, [4, 6])).toEqual(['* 5 EXISTS\r\n', '* 3 RECENT\r\n'])
    expect(s.isRecent(5)).toBe(true)
    // messages that another session claimed first are not recent here
    expect(s.catchUp(view(recs(1, 2, 3, 4, 5, 6, 7)), true, [7, 8])).toEqual(['* 7 EXISTS\r\n', '* 4 RECENT\r\n'])
    expect(s.isRecent(6)).toBe(false)
  })

  it('expunged recent messages no longer count', () => {
    const s = open(view(recs(1, 2, 3, 4)), [2, 5])
    s.catchUp(view(recs(1, 3)), true)
    expect(s.recentCount).toBe(1)
    expect(s.catchUp(view(recs(1, 3, 5)), true, [5, 6])).toEqual(['* 3 EXISTS\r\n', '* 2 RECENT\r\n'])
  })

  it('flag changes of a recent message carry \\Recent', () => {
    const s = open(view([rec(1, 1)], 1), [1, 2])
    expect(s.catchUp(view([rec(1, 2, ['\\Seen'])]), true)).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n'])
  })
})

describe('SelectedMailbox: keywords announced (RFC 3501 §7.2.6)', () => {
  const flags = (kw: string) => `* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft${kw})\r\n`

  it('SELECT lists the view keywords; a new one is announced once, before EXISTS and FETCH', () => {
    const s = open(view([rec(1, 1, ['$A'])]))
    expect(s.flagsResponses()).toEqual([flags(' $A'), '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $A \\*)] Flags permitted\r\n'])
    const next = view([rec(1, 3, ['$A', '$B']), rec(2, 2, ['$C'])])
    expect(s.catchUp(next, true)).toEqual([
      flags(' $A $B $C'),
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $A $B $C \\*)] Flags permitted\r\n',
      '* 2 EXISTS\r\n',
      '* 0 RECENT\r\n',
      '* 1 FETCH (UID 1 FLAGS ($A $B))\r\n',
    ])
    expect(s.announceKeywords(next)).toEqual([])
    // a reloaded view without $B (nobody carries it now) has nothing new: the list does not shrink
    expect(s.announceKeywords(view([rec(1, 4, ['$A']), rec(2, 2, ['$C'])]))).toEqual([])
    expect(s.flagsResponses()[0]).toBe(flags(' $A $B $C'))
  })

  it('read-only: PERMANENTFLAGS ()', () => {
    const s = new SelectedMailbox(7, 'INBOX', 1000, true, view([rec(1)]))
    expect(s.announceKeywords(view([rec(1, 2, ['$X'])]))).toEqual([flags(' $X'), '* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n'])
  })
})

describe('SelectedMailbox: \\Recent ranges', () => {
  it('a range reaching below what the client knew only marks the new messages (claims of a forgotten folder restart at 1)', () => {
    const s = open(view(recs(1, 2, 3)), [3, 4])
    expect(s.catchUp(view(recs(1, 2, 3, 4)), true, [1, 5])).toEqual(['* 4 EXISTS\r\n', '* 2 RECENT\r\n'])
    expect([1, 2, 3, 4].map((u) => s.isRecent(u))).toEqual([false, false, true, true])
  })

  it('many separate ranges (others claimed in between) are looked up correctly', () => {
    let records = recs(1)
    const s = open(view(records), [1, 2])
    for (let uid = 2; uid <= 200; uid++) {
      records = [...records, rec(uid)]
      // this session is told first about every third message only
      s.catchUp(view(records), true, uid % 3 === 0 ? [uid, uid + 1] : [uid + 1, uid + 1])
    }
    const expected = records.filter((r) => r.uid === 1 || r.uid % 3 === 0).map((r) => r.uid)
    expect(records.filter((r) => s.isRecent(r.uid)).map((r) => r.uid)).toEqual(expected)
    expect(s.recentCount).toBe(expected.length)
  })
})

describe('SelectedMailbox: a random history keeps the client in step', () => {
  it('client-side replay of the untagged responses matches the session and the folder', () => {
    let seed = 4242
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n
    for (let round = 0; round < 40; round++) {
      let records = Array.from({length: 1 + rand(20)}, (_, i) => rec(i + 1, 1))
      let modseq = 1
      let uidNext = records.length + 1
      const s = open(view(records, modseq))
      /** what the client believes: UIDs by sequence number (learned from UID FETCH after EXISTS) and flags */
      let client = records.map((r) => r.uid)
      const flags = new Map<number, string>(records.map((r) => [r.uid, '()']))
      for (let step = 0; step < 30; step++) {
        const op = rand(4)
        if (op === 0 && records.length) {
          const gone = new Set(records.filter(() => rand(3) === 0).map((r) => r.uid))
          records = records.filter((r) => !gone.has(r.uid))
          modseq++
        } else if (op === 1) {
          for (let k = 1 + rand(3); k > 0; k--) records = [...records, rec(uidNext++, ++modseq)]
        } else if (op === 2 && records.length) {
          records = records.map((r) => (rand(3) === 0 ? rec(r.uid, ++modseq, rand(2) ? ['\\Seen'] : ['\\Flagged']) : r))
        }
        const allowExpunge = rand(3) !== 0
        const v = view(records, modseq)
        for (const line of s.catchUp(v, allowExpunge)) {
          const m = /^\* (\d+) (EXPUNGE|EXISTS|RECENT|FETCH \(UID (\d+) FLAGS (\(.*\))\))\r\n$/.exec(line)
          expect(m, line).not.toBeNull()
          const n = Number(m![1])
          if (m![2] === 'EXPUNGE') {
            expect(n).toBeGreaterThanOrEqual(1)
            expect(n).toBeLessThanOrEqual(client.length)
            client.splice(n - 1, 1)
          } else if (m![2] === 'EXISTS') {
            expect(n).toBeGreaterThan(client.length)
            const last = client.length ? client[client.length - 1]! : 0
            const fresh = records.filter((r) => r.uid > last).map((r) => r.uid)
            client = [...client, ...fresh]
            expect(client.length).toBe(n)
            for (const r of records) if (r.uid > last) flags.set(r.uid, s.flagsOf(r))
          } else if (m![2].startsWith('FETCH')) {
            expect(client[n - 1], line).toBe(Number(m![3]))
            flags.set(Number(m![3]), m![4]!)
          }
        }
        expect(client).toEqual(s.uids)
        if (allowExpunge) expect(client).toEqual(records.map((r) => r.uid))
        // every message the client knows and that still exists shows its current flags
        for (const r of records) if (s.seqOf(r.uid)) expect(flags.get(r.uid), `uid ${r.uid}`).toBe(s.flagsOf(r))
      }
    }
  })
})
