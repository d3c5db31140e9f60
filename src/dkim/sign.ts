/**
 * DKIM signatures (RFC 6376, Ed25519 per RFC 8463) for a message, relaxed/relaxed, one per key.
 *
 * Why not mailauth's dkimSign: it lists in h= exactly the fields present, so it cannot oversign
 * From (list it once more than present, so a second From added in transit breaks the signature,
 * RFC 6376 §8.15), and it signs synchronously on the event loop. The server signs on a mail-auth
 * thread (../mail-auth/verifier-pool.ts), where synchronous signing is the point; without a
 * server (`mailbox send` with the store alone) RSA goes to Node's threadpool. Tests check the
 * result with independent verifiers (dkimpy, mailauth).
 */
import {createHash, createPrivateKey, sign, type KeyObject} from 'node:crypto'
import type {DkimKeyRecord} from '../store/records.js'
import {headerFields, relaxedBodyHash, relaxedHeader, type HeaderField} from './canonical.js'

/**
 * The fields signed when present (RFC 6376 §5.4.1, as mox does), in h= order; every `List-*`
 * field present is signed too. From is listed once more than it occurs.
 */
export const SIGNED_FIELDS = [
  'From',
  'Reply-To',
  'Subject',
  'Date',
  'To',
  'Cc',
  'Message-ID',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
]

const OVERSIGNED = 'from'
const LIST_FIELD = /^list-[a-z0-9-]{1,64}$/

/** the h= names, each as often as it occurs (From once more), and the fields in hashing order */
export function signedFields(fields: HeaderField[]): {names: string[]; hashed: HeaderField[]} {
  // a client writes these names: only plain ones, so none can break the h= tag (a `;` would end it)
  const listNames = [...new Set(fields.filter((f) => LIST_FIELD.test(f.name)).map((f) => f.name))]
  const names: string[] = []
  const hashed: HeaderField[] = []
  for (const name of [...SIGNED_FIELDS.map((n) => n.toLowerCase()), ...listNames]) {
    // several instances are signed from the bottom up (RFC 6376 §5.4.2)
    const present = fields.filter((f) => f.name === name).reverse()
    const cased = SIGNED_FIELDS.find((n) => n.toLowerCase() === name) ?? present[0]?.raw.slice(0, name.length) ?? name
    for (const field of present) {
      names.push(cased)
      hashed.push(field)
    }
    // a name listed without an instance left adds nothing to the hash but makes one added later fail
    if (name === OVERSIGNED) names.push(cased)
  }
  return {names, hashed}
}

/** parsed private keys, by their PEM (a rotation adds keys; the set stays small) */
const keyObjects = new Map<string, KeyObject>()
const MAX_CACHED_KEYS = 256

function keyObject(pem: string): KeyObject {
  let key = keyObjects.get(pem)
  if (!key) {
    if (keyObjects.size >= MAX_CACHED_KEYS) keyObjects.clear()
    key = createPrivateKey(pem)
    keyObjects.set(pem, key)
  }
  return key
}

/**
 * RSA signatures in flight on the threadpool at once. Its 4 threads also run LMDB's commits and
 * file I/O: signing 50 injected messages at once queued the commits behind 100 signatures and
 * cost more throughput than the signing itself (bench/outbound.ts).
 */
const MAX_RSA_SIGNING = 2
let rsaSigning = 0
const rsaWaiting: (() => void)[] = []

/**
 * RSA-2048 signing is ~0.8 ms of CPU: on a thread of its own it is simply done (`synchronous`);
 * on the event loop it goes to the threadpool (crypto.sign with a callback), a few at a time.
 * Ed25519 is ~0.1 ms: always here, which costs less than the trip to a thread.
 */
async function signWith(key: SigningKey, data: Buffer, synchronous: boolean): Promise<Buffer> {
  // RFC 8463: Ed25519 signs the SHA-256 of the data (PureEdDSA over the hash); RSA hashes itself
  if (key.algorithm === 'ed25519') return sign(null, createHash('sha256').update(data).digest(), keyObject(key.privateKey))
  if (synchronous) return sign('sha256', data, keyObject(key.privateKey))
  while (rsaSigning >= MAX_RSA_SIGNING) await new Promise<void>((resolve) => rsaWaiting.push(resolve))
  rsaSigning++
  try {
    return await new Promise<Buffer>((resolve, reject) => sign('sha256', data, keyObject(key.privateKey), (err, signature) => (err ? reject(err) : resolve(signature))))
  } finally {
    rsaSigning--
    rsaWaiting.shift()?.()
  }
}

/** `tag=value;` pieces joined with folding, lines kept near 78 characters */
function fold(head: string, tags: string[]): string {
  let text = head
  let line = head.length
  for (const tag of tags) {
    if (line + 1 + tag.length > 78) {
      text += '\r\n\t' + tag
      line = 1 + tag.length
    } else {
      text += ' ' + tag
      line += 1 + tag.length
    }
  }
  return text
}

/** what a signature needs of a key */
export type SigningKey = Pick<DkimKeyRecord, 'selector' | 'algorithm' | 'privateKey'>

/**
 * The DKIM-Signature fields for `message` (to be put on top of it, in the order returned), one
 * per key, all for `domain`. `now` is the t= time in ms. `synchronous`: RSA signs right here (on
 * a worker thread), not on the threadpool.
 */
export async function dkimSignatures(message: Buffer, domain: string, keys: SigningKey[], now = Date.now(), synchronous = false): Promise<Buffer> {
  const {fields, bodyAt} = headerFields(message)
  const {names, hashed} = signedFields(fields)
  const bh = await relaxedBodyHash(message.subarray(bodyAt))
  const headerData = hashed.map((f) => relaxedHeader(f.raw) + '\r\n').join('')
  const t = Math.floor(now / 1000)
  const signatures = await Promise.all(
    keys.map(async (key) => {
      const a = key.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256'
      // b= stays last and empty while hashing (RFC 6376 §3.7); the signature is folded in after
      const unsigned = fold('DKIM-Signature:', [`v=1;`, `a=${a};`, `c=relaxed/relaxed;`, `d=${domain};`, `s=${key.selector};`, `t=${t};`, `h=${names.join(':')};`, `bh=${bh};`, 'b='])
      const data = Buffer.from(headerData + relaxedHeader(unsigned), 'latin1')
      const b = await signWith(key, data, synchronous)
      return unsigned + (b.toString('base64').match(/.{1,72}/g) ?? []).join('\r\n\t') + '\r\n'
    }),
  )
  return Buffer.from(signatures.join(''), 'latin1')
}
