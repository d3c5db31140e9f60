/**
 * Password hashing: argon2id, PHC strings (the parameters travel inside each hash, so they can be
 * raised later without invalidating existing passwords). Hashing runs on libuv's thread pool and
 * does not block the event loop.
 */
import type Argon2 from 'argon2'
import type {Options} from 'argon2'
import {MailboxError} from '../errors.js'

/**
 * argon2 and its native add-on, loaded at the first hash or verify: the commands that import
 * this module through the directory but never hash (`user list`, `user show`, …) start without
 * it (`npm run bench -- cli`).
 */
let loaded: Promise<typeof Argon2> | undefined
const argon2 = async (): Promise<typeof Argon2> => (loaded ??= import('argon2').then((m) => m.default))

/** argon2's defaults (m=64 MiB, t=3, p=4): about 170 ms a hash on this class of machine. `type: 2` is argon2.argon2id. */
export const HASH_OPTIONS = {type: 2, memoryCost: 65536, timeCost: 3, parallelism: 4} as const satisfies Options

/**
 * $MAILBOX_PASSWORD_HASH_COST (`m=<KiB>,t=<passes>,p=<lanes>`, as in a PHC string) replaces the
 * costs above for the hashes this process makes (`user add`, `user passwd`, `user import`, `init`,
 * and serve's timing equalizer): for test suites, which make and check hundreds of passwords (at
 * the default, each hash keeps two cores busy for ~170 ms). Unset or empty: the defaults. Within
 * IMPORTED_HASH_LIMITS, as any hash the store keeps must be. Lower costs make weaker hashes, so
 * `serve` logs a warning while it is set (hashCostWarning). Read at each hash: cheap, and a test
 * can change it.
 */
export const HASH_COST_ENV = 'MAILBOX_PASSWORD_HASH_COST'

export function hashOptions(): Options {
  const value = process.env[HASH_COST_ENV]
  if (!value) return HASH_OPTIONS
  const m = /^m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})$/.exec(value)
  if (!m) throw new MailboxError('invalid', `${HASH_COST_ENV} must look like m=65536,t=3,p=4, not ${JSON.stringify(value)}`)
  const [memoryCost, timeCost, parallelism] = [Number(m[1]), Number(m[2]), Number(m[3])]
  checkCosts(memoryCost, timeCost, parallelism, HASH_COST_ENV)
  return {type: HASH_OPTIONS.type, memoryCost, timeCost, parallelism}
}

/** For serve's start: the warning to log when $MAILBOX_PASSWORD_HASH_COST lowers a cost below its default, else undefined. */
export function hashCostWarning(): string | undefined {
  const {memoryCost = 0, timeCost = 0, parallelism = 0} = hashOptions()
  if (memoryCost >= HASH_OPTIONS.memoryCost && timeCost >= HASH_OPTIONS.timeCost && parallelism >= HASH_OPTIONS.parallelism) return undefined
  const d = HASH_OPTIONS
  return `${HASH_COST_ENV} lowers the argon2id costs of new password hashes to m=${memoryCost},t=${timeCost},p=${parallelism} (default m=${d.memoryCost},t=${d.timeCost},p=${d.parallelism}): weaker hashes, meant for test suites only`
}

const MAX_PASSWORD_BYTES = 1024

export function checkPasswordShape(password: string): void {
  if (password.length === 0) throw new MailboxError('invalid', 'password must not be empty')
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new MailboxError('invalid', `password longer than ${MAX_PASSWORD_BYTES} bytes`)
  if (/[\u0000\r\n]/.test(password)) throw new MailboxError('invalid', 'password must not contain NUL or line breaks')
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordShape(password)
  return (await argon2()).hash(password, hashOptions())
}

/**
 * Hashes many passwords at once, as fast as the machine allows: each argon2 hash is a job on
 * libuv's thread pool (and with p=4 runs its four lanes on threads of its own), so keeping one
 * job in flight per pool thread keeps every core busy, and more in flight would only queue.
 * The pool size comes from UV_THREADPOOL_SIZE in the environment (default 4); setting it from
 * JavaScript is too late, Node has started the pool by then (measured). On 2 cores, 2, 4 or 8
 * in flight hash alike, about 1.2-1.4x as fast as one after another (each hash already keeps
 * about two cores busy with its lanes); 4 at a time keep up to 16 cores busy.
 * Results come back in input order; `onHashed` counts completions (for progress output).
 */
export async function hashPasswords(passwords: string[], onHashed?: (done: number) => void): Promise<string[]> {
  for (const password of passwords) checkPasswordShape(password)
  const {hash} = await argon2()
  const options = hashOptions()
  const hashes: string[] = new Array(passwords.length)
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < passwords.length) {
      const i = next++
      hashes[i] = await hash(passwords[i]!, options)
      onHashed?.(++done)
    }
  }
  await Promise.all(Array.from({length: Math.min(threadPoolSize(), passwords.length)}, worker))
  return hashes
}

/** libuv's thread pool size as this process got it */
function threadPoolSize(): number {
  const size = Number(process.env['UV_THREADPOOL_SIZE'])
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4
}

/**
 * Bounds on a hash that comes from elsewhere (`user import`): every login verifies against it,
 * so its cost is the server's cost. Up to 4x our own memory, 4x our passes, 16 lanes: a hash
 * made with stronger settings than ours still imports, one that would make each login a
 * denial of service (m=4 GiB, t=1000) does not.
 */
export const IMPORTED_HASH_LIMITS = {maxMemoryKiB: 4 * HASH_OPTIONS.memoryCost, maxTimeCost: 4 * HASH_OPTIONS.timeCost, maxParallelism: 16} as const

// $argon2id$v=19$m=65536,t=3,p=4$<salt, base64 without padding>$<hash, base64 without padding>
const ARGON2ID_PHC = /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,128})\$([A-Za-z0-9+/]{22,128})$/

/** Throws `invalid` unless `hash` is an argon2id PHC string (version 1.3) within IMPORTED_HASH_LIMITS. */
export function checkArgon2idHash(hash: string): void {
  const m = ARGON2ID_PHC.exec(hash)
  if (!m) throw new MailboxError('invalid', 'not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)')
  checkCosts(Number(m[1]), Number(m[2]), Number(m[3]))
}

/** Throws `invalid` unless the costs are within IMPORTED_HASH_LIMITS (`what` names their source in the message). */
function checkCosts(memory: number, time: number, lanes: number, what?: string): void {
  const {maxMemoryKiB, maxTimeCost, maxParallelism} = IMPORTED_HASH_LIMITS
  const of = what ? `${what}: ` : ''
  if (lanes < 1 || lanes > maxParallelism) throw new MailboxError('invalid', `${of}parallelism p=${lanes} outside 1..${maxParallelism}`)
  if (time < 1 || time > maxTimeCost) throw new MailboxError('invalid', `${of}time cost t=${time} outside 1..${maxTimeCost}`)
  // argon2 itself needs 8 KiB per lane
  if (memory < 8 * lanes || memory > maxMemoryKiB) throw new MailboxError('invalid', `${of}memory m=${memory} KiB outside ${8 * lanes}..${maxMemoryKiB}`)
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await (await argon2()).verify(hash, password)
  } catch {
    return false // a malformed stored hash never authenticates
  }
}

let dummyHash: Promise<string> | undefined
/** Verifies against a throwaway hash so an unknown user costs as much time as a known one. */
export async function burnVerify(password: string): Promise<void> {
  dummyHash ??= argon2().then((a) => a.hash('mailbox-timing-equalizer', hashOptions()))
  await verifyPassword(await dummyHash, password)
}
