/**
 * The POP3 commands, verb → handler: RFC 1939 (USER, PASS, STAT, LIST, UIDL, RETR, TOP, DELE,
 * RSET, NOOP, QUIT), RFC 2449 (CAPA), RFC 2595 (STLS) and RFC 5034 (AUTH PLAIN). Each names the
 * states it is valid in; the session answers `-ERR` for the others before calling it.
 */
import {decodeSaslPlain} from '../auth/sasl-plain.js'
import type {Pop3Session, State} from './session.js'
import {topOf, toWire} from './wire.js'

export interface Command {
  states: readonly State[]
  run(s: Pop3Session, arg: string): void | Promise<void>
}

const AUTHORIZATION = ['authorization'] as const
const TRANSACTION = ['transaction'] as const
const BOTH = ['authorization', 'transaction'] as const

const NO_PLAINTEXT = '[AUTH] plaintext authentication is disabled without TLS: use STLS first'

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function capabilities(s: Pop3Session): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING']
  // RFC 2449 §6.8/§6.3: only what this connection may use now; no plaintext login in the clear
  if (s.authAllowed) caps.push('USER', 'SASL PLAIN')
  if (s.canStartTls) caps.push('STLS')
  caps.push('IMPLEMENTATION mailbox')
  return caps
}

/** RFC 4616 PLAIN (src/auth/sasl-plain.ts); `=` is an empty response (RFC 5034 §4) */
async function saslPlain(s: Pop3Session, response: string): Promise<void> {
  if (response === '*') return s.err('[AUTH] authentication cancelled')
  const plain = decodeSaslPlain(response === '=' ? '' : response.trim())
  if (!plain.ok) return s.err(`[AUTH] ${plain.reason}`)
  await s.login(plain.authcid, plain.password, 'PLAIN')
}

/** the message a STAT/LIST/RETR/TOP/DELE argument names, or undefined with `-ERR` sent */
function target(s: Pop3Session, arg: string, extra = 0) {
  const args = arg ? arg.split(/\s+/) : []
  if (args.length !== 1 + extra) {
    s.bad('syntax error in the arguments')
    return undefined
  }
  const found = s.drop!.find(args[0])
  if (typeof found === 'string') {
    if (found.startsWith('syntax')) s.bad(found)
    else s.err(found)
    return undefined
  }
  return {entry: found, args}
}

export const COMMANDS = new Map<string, Command>([
  [
    'CAPA',
    {
      states: BOTH,
      run: (s) => s.multiline('capability list follows', capabilities(s).join('\r\n') + '\r\n'),
    },
  ],
  [
    'STLS',
    {
      states: AUTHORIZATION,
      run: async (s) => {
        if (s.secure) return s.bad('already using TLS')
        if (s.pendingUser !== undefined) return s.bad('STLS must come before USER')
        await s.startTls()
      },
    },
  ],
  [
    'USER',
    {
      states: AUTHORIZATION,
      run: (s, arg) => {
        if (!s.authAllowed) return s.err(NO_PLAINTEXT)
        if (!arg) return s.bad('syntax: USER name')
        // the same answer whether the user exists or not
        s.pendingUser = arg
        s.ok('send PASS')
      },
    },
  ],
  [
    'PASS',
    {
      states: AUTHORIZATION,
      run: async (s, arg) => {
        if (!s.authAllowed) return s.err(NO_PLAINTEXT)
        const user = s.pendingUser
        if (user === undefined) return s.bad('USER first')
        // a failed PASS starts the exchange over (RFC 1939 §7): the next try sends USER again
        s.pendingUser = undefined
        await s.login(user, arg, 'password')
      },
    },
  ],
  [
    'AUTH',
    {
      states: AUTHORIZATION,
      run: async (s, arg) => {
        const [mechanism, initial, ...rest] = arg ? arg.split(/\s+/) : []
        // bare AUTH lists the mechanisms (the pre-CAPA probe of RFC 1734 that some clients still send)
        if (!mechanism) return s.multiline('SASL mechanisms follow', s.authAllowed ? 'PLAIN\r\n' : '')
        if (mechanism.toUpperCase() !== 'PLAIN') return s.err('unsupported authentication mechanism')
        if (!s.authAllowed) return s.err(NO_PLAINTEXT)
        if (rest.length) return s.bad('syntax: AUTH PLAIN [initial-response]')
        if (initial !== undefined) return saslPlain(s, initial)
        s.continuation = (line) => saslPlain(s, line)
        s.write('+ \r\n')
      },
    },
  ],
  [
    'STAT',
    {
      states: TRANSACTION,
      run: async (s, arg) => {
        if (arg) return s.bad('syntax: STAT takes no arguments')
        const live = s.drop!.live()
        await s.measure(live)
        s.ok(`${live.length} ${live.reduce((n, e) => n + e.wireSize!, 0)}`)
      },
    },
  ],
  [
    'LIST',
    {
      states: TRANSACTION,
      run: async (s, arg) => {
        if (arg) {
          const t = target(s, arg)
          if (!t) return
          await s.measure([t.entry])
          return s.ok(`${t.entry.n} ${t.entry.wireSize}`)
        }
        const live = s.drop!.live()
        await s.measure(live)
        const octets = live.reduce((n, e) => n + e.wireSize!, 0)
        s.multiline(`${plural(live.length, 'message')} (${octets} octets)`, live.map((e) => `${e.n} ${e.wireSize}\r\n`).join(''))
      },
    },
  ],
  [
    'UIDL',
    {
      states: TRANSACTION,
      run: (s, arg) => {
        const drop = s.drop!
        if (arg) {
          const t = target(s, arg)
          if (t) s.ok(`${t.entry.n} ${drop.uidl(t.entry)}`)
          return
        }
        s.multiline('unique-id listing follows', drop.live().map((e) => `${e.n} ${drop.uidl(e)}\r\n`).join(''))
      },
    },
  ],
  [
    'RETR',
    {
      states: TRANSACTION,
      run: async (s, arg) => {
        const t = target(s, arg)
        if (!t) return
        const message = await s.read(t.entry)
        if (!message) return
        s.multiline(`${message.info.size} octets`, toWire(message.raw, message.info), () => s.markSeen(t.entry))
      },
    },
  ],
  [
    'TOP',
    {
      states: TRANSACTION,
      run: async (s, arg) => {
        const t = target(s, arg, 1)
        if (!t) return
        if (!/^\d{1,10}$/.test(t.args[1]!)) return s.bad('syntax: TOP msg lines')
        const message = await s.read(t.entry)
        if (!message) return
        s.multiline('top of message follows', toWire(topOf(message.raw, Number(t.args[1]))))
      },
    },
  ],
  [
    'DELE',
    {
      states: TRANSACTION,
      run: (s, arg) => {
        const t = target(s, arg)
        if (!t) return
        t.entry.deleted = true
        s.ok(`message ${t.entry.n} deleted`)
      },
    },
  ],
  [
    'RSET',
    {
      states: TRANSACTION,
      run: (s, arg) => {
        if (arg) return s.bad('syntax: RSET takes no arguments')
        const restored = s.drop!.reset()
        s.ok(`${plural(restored, 'message')} undeleted, maildrop has ${plural(s.drop!.entries.length, 'message')}`)
      },
    },
  ],
  [
    'NOOP',
    {
      states: TRANSACTION,
      run: (s) => s.ok(),
    },
  ],
  [
    'QUIT',
    {
      states: BOTH,
      run: async (s) => {
        if (s.state === 'authorization') {
          s.ok(`${s.ctx.hostname} POP3 server signing off`)
          return s.end()
        }
        s.state = 'update'
        const drop = s.drop!
        await s.seenDone()
        const uids = drop.deletedUids()
        if (uids.length) {
          try {
            // one durable commit; +OK only after it (DESIGN.md: acknowledged means committed)
            await s.ctx.bus.call('mailstore.expunge', {user: s.user!, mailboxId: drop.mailboxId, uids, onlyDeleted: false})
          } catch (err) {
            s.log.error({err, user: s.user, uids: uids.length}, 'pop3 deletions failed')
            s.err('[SYS/TEMP] some deleted messages not removed')
            return s.end()
          }
        }
        s.log.debug({user: s.user, deleted: uids.length}, 'quit')
        const left = drop.entries.length - uids.length
        s.ok(`${s.ctx.hostname} POP3 server signing off (${left ? plural(left, 'message') + ' left' : 'maildrop empty'})`)
        s.end()
      },
    },
  ],
])
