/**
 * Greylisting's records and the rules both backends apply to them (LMDB: ./lmdb-greylist.ts,
 * PostgreSQL: ./pg/greylist.ts), so they cannot drift apart. The policy around them (who is
 * greylisted at all, the SMTP reply) is ../spam/greylist.ts.
 *
 * An entry is keyed by the triplet (client network, sender, recipient) and says when it was
 * first and last seen, how often, and when it passed. A triplet passes once it is seen again at
 * least `delayMs` after its first sighting and within `retryWindowMs` of it (RFC 6647 §2.1: a
 * real MTA retries, a fire-and-forget sender does not); a passed triplet keeps passing while it
 * is seen at least once every `passTtlMs`. A network that passed a triplet is recorded too: the
 * null sender (bounces, RFC 5321 §4.5.5) from such a network is not greylisted, since a bounce
 * comes from a server that has already retried to us before.
 *
 * Bounds: an entry that is neither waiting within its window nor a live pass is expired (purged
 * by the store's `purge`, and treated as absent meanwhile); past `maxEntries` a new triplet is
 * passed without being recorded (fail open: a flood of forged senders cannot grow the store).
 */

export interface GreylistEntry {
  /** epoch ms of the first sighting (of this round: an expired entry starts over) */
  firstSeen: number
  lastSeen: number
  /** when it first passed; absent: still waiting */
  passedAt?: number
  /** sightings of this round that were written (passes within `refreshMs` of the last written one are not) */
  count: number
}

export interface GreylistTriplet {
  /** the client's network as ../spam/greylist.ts names it (IPv4 /24, IPv6 /64) */
  network: string
  /** normalized MAIL FROM; '' for the null sender */
  sender: string
  /** normalized RCPT TO */
  recipient: string
}

export interface GreylistPolicy {
  /** a retry sooner than this after the first sighting waits again */
  delayMs: number
  /** a retry later than this after the first sighting is a new first sighting */
  retryWindowMs: number
  /** a passed triplet (and network) not seen for this long is forgotten; each pass refreshes it */
  passTtlMs: number
  /** entries at most; a new triplet beyond passes unrecorded */
  maxEntries: number
}

/**
 * What a check answered:
 * - `wait`: refuse for now, retry in `retryInMs`; `first`: this was a first sighting (recorded)
 * - `pass`: `retried` (this sighting passed it), `passed` (passed before), `network` (the null
 *   sender from a network that passed), `full` (not recorded: the table is at `maxEntries`)
 */
export type GreylistVerdict = {action: 'wait'; retryInMs: number; first: boolean} | {action: 'pass'; reason: 'retried' | 'passed' | 'network' | 'full'}

export interface GreylistStats {
  entries: number
  /** of them, passed */
  passed: number
  /** networks remembered as having passed */
  networks: number
}

/** whether an entry counts no more at `now` (purged, or started over when seen) */
export function greylistExpired(entry: GreylistEntry, now: number, policy: GreylistPolicy): boolean {
  return entry.passedAt !== undefined ? now - entry.lastSeen > policy.passTtlMs : now - entry.firstSeen > policy.retryWindowMs
}

/** a pass this soon after the recorded sighting is not written again (at most an hour, a hundredth of the TTL) */
export const refreshMs = (policy: GreylistPolicy): number => Math.min(3600_000, policy.passTtlMs / 100)

/**
 * Whether a sighting of a triplet that passed can be answered without a write: the recorded
 * sighting is recent enough to stand for this one (the pass TTL then counts from it, at most
 * `refreshMs` early). Mail from a known correspondent then costs a read, not a commit per RCPT.
 */
export const passStandsWithoutWrite = (entry: GreylistEntry | undefined, now: number, policy: GreylistPolicy): boolean =>
  entry?.passedAt !== undefined && !greylistExpired(entry, now, policy) && now - entry.lastSeen < refreshMs(policy)

/** whether a network's last pass (`passedAt`) still vouches for its null sender at `now` */
export const networkPassLive = (passedAt: number | undefined, now: number, policy: GreylistPolicy): boolean => passedAt !== undefined && now - passedAt <= policy.passTtlMs

/**
 * One sighting of a triplet whose live entry is `entry` (undefined: none, or expired): the
 * verdict and the entry to write. The caller writes it in the same transaction it read `entry`
 * in, and records the network's pass when the verdict is a pass of a triplet.
 */
export function greylistSighting(entry: GreylistEntry | undefined, now: number, policy: GreylistPolicy): {verdict: GreylistVerdict; entry: GreylistEntry} {
  if (!entry || greylistExpired(entry, now, policy)) {
    return {verdict: {action: 'wait', retryInMs: policy.delayMs, first: true}, entry: {firstSeen: now, lastSeen: now, count: 1}}
  }
  const seen = {...entry, lastSeen: Math.max(entry.lastSeen, now), count: entry.count + 1}
  if (entry.passedAt !== undefined) return {verdict: {action: 'pass', reason: 'passed'}, entry: seen}
  const waited = now - entry.firstSeen
  if (waited >= policy.delayMs) return {verdict: {action: 'pass', reason: 'retried'}, entry: {...seen, passedAt: now}}
  return {verdict: {action: 'wait', retryInMs: policy.delayMs - waited, first: false}, entry: seen}
}

/**
 * The longest an address of a triplet is stored: LMDB keys end at 1978 bytes (two addresses of
 * 200 characters of up to 4 UTF-8 bytes each, and a network, stay under it). Two addresses that
 * differ only past that share an entry, which greylists nobody wrongly.
 */
export const MAX_TRIPLET_ADDRESS = 200

/** a triplet with its parts cut to what the store keeps */
export const boundedTriplet = (t: GreylistTriplet): GreylistTriplet => ({
  network: t.network.slice(0, 64),
  sender: t.sender.slice(0, MAX_TRIPLET_ADDRESS),
  recipient: t.recipient.slice(0, MAX_TRIPLET_ADDRESS),
})
