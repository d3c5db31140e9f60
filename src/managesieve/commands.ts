/**
 * The ManageSieve commands (RFC 5804 §2), name → handler. Each names the states it is valid in
 * and the kinds of its arguments; the session checks both before calling it. Scripts are
 * checked with parseSieve before they are stored (§2.6: PUTSCRIPT and CHECKSCRIPT answer NO
 * with the errors, one `line N: message` per line), and every change is one store operation
 * answered after its commit.
 */
import {decodeSaslPlain} from '../auth/sasl-plain.js'
import {isMailboxError} from '../errors.js'
import {formatSieveErrors, parseSieve, SIEVE_CAPABILITIES} from '../sieve/index.js'
import {VERSION} from '../version.js'
import {stringArg, type Arg} from './parser.js'
import type {ArgKind, ManageSieveSession, State} from './session.js'
import {response, sieveLiteral, sieveString, type ResponseCode} from './wire.js'

export interface Command {
  states: readonly State[]
  args: readonly ArgKind[]
  run(s: ManageSieveSession, args: Arg[]): void | Promise<void>
}

const BEFORE_AUTH = ['non-authenticated'] as const
const AUTHENTICATED = ['authenticated'] as const
const ANY = ['non-authenticated', 'authenticated'] as const

/** RFC 5804 §1.7, in its order; only what this connection may use now */
export function capabilities(s: ManageSieveSession): [string, string?][] {
  return [
    ['IMPLEMENTATION', `mailbox ${VERSION}`],
    // no plaintext mechanism in the clear: empty until STARTTLS (§1.7 allows that only beside STARTTLS)
    ['SASL', s.authAllowed ? 'PLAIN' : ''],
    ['SIEVE', SIEVE_CAPABILITIES.join(' ')],
    ...(s.canStartTls ? [['STARTTLS'] as [string]] : []),
    ['MAXREDIRECTS', String(s.ctx.maxRedirects())],
    ...(s.user ? [['OWNER', s.user] as [string, string]] : []),
    ['UNAUTHENTICATE'],
    ['VERSION', '1.0'],
  ]
}

/** RFC 4616 PLAIN; the client's base64 comes as a string (RFC 5804 §2.1) */
async function saslPlain(s: ManageSieveSession, arg: Arg): Promise<void> {
  const b64 = stringArg(arg).trim()
  if (b64 === '*') return s.no('authentication cancelled')
  const plain = decodeSaslPlain(b64)
  if (!plain.ok) return s.bad(plain.reason)
  await s.login(plain.authcid, plain.password, 'PLAIN')
}

/** a store refusal as RFC 5804 §1.3 wants it; anything else is the session's internal error */
function refusal(s: ManageSieveSession, err: unknown): void {
  const codes: [Parameters<typeof isMailboxError>[1], ResponseCode | undefined][] = [
    ['not-found', 'NONEXISTENT'],
    ['exists', 'ALREADYEXISTS'],
    ['conflict', 'ACTIVE'],
    ['quota', 'QUOTA/MAXSCRIPTS'],
    ['invalid', undefined],
  ]
  for (const [kind, code] of codes) if (isMailboxError(err, kind)) return s.no(err.message, code)
  throw err
}

/** runs a store operation, mapping its refusals; once it is committed, logs it (what changed a user's filtering) and answers OK */
async function change(s: ManageSieveSession, what: Record<string, unknown>, op: () => Promise<unknown>): Promise<void> {
  try {
    await op()
  } catch (err) {
    return refusal(s, err)
  }
  s.log.info({user: s.user, ...what}, 'sieve scripts changed')
  s.ok()
}

/** a script's text: valid UTF-8 within the size limit, and Sieve that parses; else NO sent and undefined */
function checkedScript(s: ManageSieveSession, arg: Arg): string | undefined {
  const {maxScriptBytes} = s.ctx.quota()
  // a literal's size before decoding it: a script over the limit is refused as it is
  const bytes = typeof arg.value === 'string' ? Buffer.byteLength(arg.value) : (arg.value as Buffer).length
  if (bytes > maxScriptBytes) {
    s.no(`the script is ${bytes} bytes, more than the limit of ${maxScriptBytes}`, 'QUOTA/MAXSIZE')
    return undefined
  }
  const text = stringArg(arg)
  const parsed = parseSieve(text, {maxScriptBytes})
  if (!parsed.ok) {
    s.no(formatSieveErrors(parsed.errors))
    return undefined
  }
  return text
}

export const COMMANDS = new Map<string, Command>([
  // CAPABILITY (§2.4)
  ['CAPABILITY', {states: ANY, args: [], run: (s) => s.sendCapabilities()}],
  // STARTTLS (§2.2): the capabilities follow the handshake
  [
    'STARTTLS',
    {
      states: BEFORE_AUTH,
      args: [],
      run: async (s) => {
        if (s.secure) return s.bad('already using TLS')
        await s.startTls()
      },
    },
  ],
  // AUTHENTICATE mechanism [initial-response] (§2.1)
  [
    'AUTHENTICATE',
    {
      states: BEFORE_AUTH,
      args: ['string', 'string?'],
      run: async (s, [mechanism, initial]) => {
        if (stringArg(mechanism!).toUpperCase() !== 'PLAIN') return s.no('unsupported authentication mechanism')
        if (!s.authAllowed) return s.no('plaintext authentication needs TLS: use STARTTLS first', 'ENCRYPT-NEEDED')
        if (initial) return saslPlain(s, initial)
        s.continuation = async (args) => {
          if (args.length !== 1 || args[0]!.kind !== 'string') return s.bad('the response must be one string')
          await saslPlain(s, args[0]!)
        }
        // PLAIN's challenge is empty
        s.write('""\r\n')
      },
    },
  ],
  // LOGOUT (§2.3)
  [
    'LOGOUT',
    {
      states: ANY,
      args: [],
      run: (s) => {
        s.ok('logout completed')
        s.end()
      },
    },
  ],
  // NOOP [tag] (§2.13)
  ['NOOP', {states: ANY, args: ['string?'], run: (s, [tag]) => s.ok('done', tag ? {tag: stringArg(tag)} : undefined)}],
  // UNAUTHENTICATE (§2.14)
  [
    'UNAUTHENTICATE',
    {
      states: AUTHENTICATED,
      args: [],
      run: (s) => {
        s.logout()
        s.ok('unauthenticated')
      },
    },
  ],
  // HAVESPACE name size (§2.5)
  [
    'HAVESPACE',
    {
      states: AUTHENTICATED,
      args: ['string', 'number'],
      run: async (s, [name, size]) => {
        const {maxScripts, maxScriptBytes} = s.ctx.quota()
        if ((size!.value as number) > maxScriptBytes) return s.no(`a script may have at most ${maxScriptBytes} bytes`, 'QUOTA/MAXSIZE')
        const scripts = await s.ctx.sieve.list(s.user!)
        const replaces = scripts.some((info) => info.name === stringArg(name!))
        if (!replaces && scripts.length >= maxScripts) return s.no(`at most ${maxScripts} scripts`, 'QUOTA/MAXSCRIPTS')
        s.ok()
      },
    },
  ],
  // PUTSCRIPT name script (§2.6)
  [
    'PUTSCRIPT',
    {
      states: AUTHENTICATED,
      args: ['string', 'string'],
      run: async (s, [name, script]) => {
        const text = checkedScript(s, script!)
        if (text === undefined) return
        const target = stringArg(name!)
        await change(s, {put: target}, () => s.ctx.sieve.put(s.user!, target, text, s.ctx.quota()))
      },
    },
  ],
  // CHECKSCRIPT script (§2.12)
  [
    'CHECKSCRIPT',
    {
      states: AUTHENTICATED,
      args: ['string'],
      run: (s, [script]) => {
        if (checkedScript(s, script!) !== undefined) s.ok()
      },
    },
  ],
  // LISTSCRIPTS (§2.7): `"name" [ACTIVE]` per script
  [
    'LISTSCRIPTS',
    {
      states: AUTHENTICATED,
      args: [],
      run: async (s) => {
        const scripts = await s.ctx.sieve.list(s.user!)
        s.write(scripts.map((info) => `${sieveString(info.name)}${info.active ? ' ACTIVE' : ''}\r\n`).join('') + response('OK'))
      },
    },
  ],
  // SETACTIVE name (§2.8): "" deactivates
  [
    'SETACTIVE',
    {
      states: AUTHENTICATED,
      args: ['string'],
      run: async (s, [name]) => {
        const target = stringArg(name!)
        await change(s, {activate: target}, () => s.ctx.sieve.activate(s.user!, target === '' ? null : target))
      },
    },
  ],
  // GETSCRIPT name (§2.9): the script as a literal
  [
    'GETSCRIPT',
    {
      states: AUTHENTICATED,
      args: ['string'],
      run: async (s, [name]) => {
        const script = await s.ctx.sieve.get(s.user!, stringArg(name!))
        if (!script) return s.no('there is no script by that name', 'NONEXISTENT')
        s.write(`${sieveLiteral(script.content)}\r\n${response('OK')}`)
      },
    },
  ],
  // DELETESCRIPT name (§2.10): never the active one
  [
    'DELETESCRIPT',
    {
      states: AUTHENTICATED,
      args: ['string'],
      run: async (s, [name]) => {
        const script = stringArg(name!)
        await change(s, {remove: script}, () => s.ctx.sieve.remove(s.user!, script))
      },
    },
  ],
  // RENAMESCRIPT old new (§2.11)
  [
    'RENAMESCRIPT',
    {
      states: AUTHENTICATED,
      args: ['string', 'string'],
      run: async (s, [from, to]) => {
        const [old, renamed] = [stringArg(from!), stringArg(to!)]
        await change(s, {rename: old, to: renamed}, () => s.ctx.sieve.rename(s.user!, old, renamed))
      },
    },
  ],
])
