/**
 * Verdicts of unsigned messages, kept. Without a DKIM signature or an ARC seal, a message's SPF,
 * DKIM (none), DMARC and ARC (none) results depend only on the client address, the HELO name,
 * the MAIL FROM, the From field and the DNS: the same five give the same verdict as long as the
 * DNS answers are cached anyway. A sender that sends much (notifications, a mailing host that does
 * not sign) is verified once per `dnsCacheTtlMs` instead of once per message, and its messages skip
 * the trip to a mail-auth thread. Temporary errors are never kept (the next message asks again).
 * Bounded by `dnsCacheEntries`, oldest out first; 0 keeps nothing.
 */
import type {DnsCacheLimits} from './dns.js'
import {headerFields} from './headers.js'
import type {Verdict} from './verify.js'

export interface UnsignedVerdictKey {
  remoteAddress: string
  helo: string
  mailFrom: string
}

export class VerdictCache {
  private readonly verdicts = new Map<string, {verdict: Verdict; expires: number}>()

  /** `limits` is read at each use, so a reload that changes it applies at once */
  constructor(
    private readonly limits: DnsCacheLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** the key of an unsigned message's header (with its empty line); `fields`: its fields when the caller has them */
  static keyOf(header: Buffer, {remoteAddress, helo, mailFrom}: UnsignedVerdictKey, fields = headerFields(header)): string {
    // every From field as it came: their parse is what DMARC looks at
    const from = fields
      .filter((f) => f.name === 'from')
      .map((f) => header.toString('latin1', f.start, f.end))
    return JSON.stringify([remoteAddress, helo, mailFrom, from])
  }

  get(key: string): Verdict | undefined {
    const kept = this.verdicts.get(key)
    if (!kept) return undefined
    if (kept.expires > this.now()) return kept.verdict
    this.verdicts.delete(key)
    return undefined
  }

  add(key: string, verdict: Verdict): void {
    const {dnsCacheEntries, dnsCacheTtlMs} = this.limits
    if (dnsCacheEntries <= 0 || isTemporary(verdict)) return
    this.verdicts.delete(key)
    this.verdicts.set(key, {verdict, expires: this.now() + dnsCacheTtlMs})
    while (this.verdicts.size > dnsCacheEntries) this.verdicts.delete(this.verdicts.keys().next().value!)
  }

  /** new DNS servers: verdicts from the old ones go */
  clear(): void {
    this.verdicts.clear()
  }
}

const isTemporary = (v: Verdict): boolean => [v.spf.result, v.dmarc.result, ...v.dkim.map((d) => d.result), v.arc.result].includes('temperror')
