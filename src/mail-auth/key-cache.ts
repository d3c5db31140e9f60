/**
 * Parsed DKIM and ARC public keys, kept. For every signature it checks, mailauth 4.13 turns the
 * key's DNS record into a key object (`crypto.createPublicKey` of an SPKI PEM: 0.15–0.2 ms of CPU
 * with Node 20's OpenSSL 3, about a third of a verifier thread's work on a 10 KiB signed message)
 * and has no option to keep it. So its `getPublicKey` (mailauth/lib/tools) is wrapped: the record
 * is looked up as mailauth would (through the same, cached, DNS), and a record already parsed
 * gives the result of that parse again. Keyed by the record's text, so a changed record is parsed
 * anew; at most `dnsCacheEntries` records, least recently used first out. Errors are not kept.
 *
 * mailauth hands the key it got to `crypto.verify` as PEM text, which OpenSSL parses again for
 * every signature (0.13 ms of RSA-2048's 0.16 ms verify, 0.1 of Ed25519's 0.2). The cache keeps
 * a KeyObject instead, whose string form is that PEM (mailauth reports `publicKey.toString()`).
 *
 * mailauth's DKIM and ARC verifiers take `getPublicKey` from that module as they load, so this
 * module must load before mailauth does (./worker.ts imports it first).
 * test/unit/mail-auth-key-cache.test.ts fails when mailauth stops calling through it.
 */
// @ts-expect-error mailauth ships no types for its internal modules
import tools from 'mailauth/lib/tools.js'
import {createPublicKey, type KeyObject} from 'node:crypto'
import type {ResolveFn} from './dns.js'

interface PublicKey {
  publicKey: string | Buffer | KeyObject
  rr: string
  modulusLength: number
}
type GetPublicKey = (type: string, name: string, minBitLength: number | undefined, resolver: ResolveFn | undefined) => Promise<PublicKey>

const internals = tools as {getPublicKey: GetPublicKey & {cached?: true}}
const parsed = new Map<string, PublicKey>()
let maxEntries = 10_000
export const keyCacheStats = {parses: 0, hits: 0}

/** the bound (config `inboundAuth.dnsCacheEntries`): a reload may lower it */
export function setKeyCacheEntries(max: number): void {
  maxEntries = max
  for (const key of parsed.keys()) {
    if (parsed.size <= maxEntries) break
    parsed.delete(key)
  }
}

/** `result` with its PEM parsed once into a KeyObject that still prints as the PEM */
function withKeyObject(result: PublicKey): PublicKey {
  const pem = result.publicKey.toString()
  const key = createPublicKey(pem)
  key.toString = () => pem
  return {...result, publicKey: key}
}

if (!internals.getPublicKey.cached) {
  const parse = internals.getPublicKey
  const cached: GetPublicKey & {cached?: true} = async (type, name, minBitLength, resolver) => {
    if (!resolver) return parse(type, name, minBitLength, resolver)
    // the record as mailauth reads it: the first TXT string set, joined, without white space
    const list = (await resolver(name, 'TXT')) as string[][] | undefined
    const record = list && ([] as string[]).concat(list[0] ?? []).join('').replace(/\s+/g, '')
    const key = `${type} ${minBitLength ?? ''} ${record}`
    const known = parsed.get(key)
    if (known) {
      keyCacheStats.hits++
      parsed.delete(key)
      parsed.set(key, known)
      return known
    }
    const result = withKeyObject(await parse(type, name, minBitLength, resolver))
    keyCacheStats.parses++
    if (result.rr) {
      // under the record it was parsed from (the DNS answer may have changed meanwhile)
      parsed.set(`${type} ${minBitLength ?? ''} ${result.rr}`, result)
      if (parsed.size > maxEntries) parsed.delete(parsed.keys().next().value!)
    }
    return result
  }
  cached.cached = true
  internals.getPublicKey = cached
}
