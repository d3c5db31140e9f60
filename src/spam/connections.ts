/**
 * What the spam check keeps per MX connection, from connect to close: the block and allow list
 * lookups of the client's address (started at connect, so they run while the client talks), the
 * HELO findings (the name's lookup started at the first MAIL FROM that names it), and how many
 * unknown recipients it has tried. Keyed by the SMTP session's id; bounded by the listener's
 * connection limit, since every entry goes at close.
 */
import type {ResolveFn} from '../mail-auth/dns.js'
import type {SpamConfig} from './config.js'
import {lookupList, type ListResult} from './dnsbl.js'
import {heloFindings, heloNeedsLookup, heloResolves, type HeloContext, type HeloTest} from './helo.js'

export interface Connection {
  context: HeloContext
  /** every block and allow list's answer; never rejects */
  lists: Promise<ListResult[]>
  helo?: {name: string; tests: Promise<HeloTest[]>}
  unknownRecipients: number
}

/** reports a failed lookup once (it counted as no listing) */
export type LookupFailed = (what: {zone?: string; helo?: string; remoteAddress: string; code: string}) => void

export class SpamConnections {
  private readonly open = new Map<string, Connection>()

  /** `resolver()`: lookups that together end within the budget from now (one for the lists, one for a HELO name) */
  constructor(
    private readonly resolver: () => ResolveFn,
    private readonly failed: LookupFailed,
  ) {}

  get size(): number {
    return this.open.size
  }

  connect(session: string, context: HeloContext, config: SpamConfig): void {
    const resolve = this.resolver()
    const lookups = [
      ...config.dnsbl.map((zone) => lookupList('DNSBL', zone, context.remoteAddress, resolve)),
      ...config.dnswl.map((zone) => lookupList('DNSWL', zone, context.remoteAddress, resolve)),
    ]
    const lists = Promise.all(lookups).then((results) => {
      for (const r of results) if (r.failed) this.failed({zone: r.zone, remoteAddress: context.remoteAddress, code: r.failed})
      return results
    })
    this.open.set(session, {context, lists, unknownRecipients: 0})
  }

  get(session: string): Connection | undefined {
    return this.open.get(session)
  }

  /** the HELO name as of this MAIL FROM: its findings, the lookup started when it needs one */
  helo(session: string, name: string, config: SpamConfig): void {
    const c = this.open.get(session)
    if (!c || c.helo?.name === name) return
    const found = heloFindings(name, c.context)
    const tests =
      config.heloChecks.notResolving !== 0 && heloNeedsLookup(name, found)
        ? heloResolves(name, this.resolver()).then(({tests, failed}) => {
            if (failed) this.failed({helo: name.slice(0, 256), remoteAddress: c.context.remoteAddress, code: failed})
            return tests
          })
        : Promise.resolve(found)
    c.helo = {name, tests}
  }

  /** one more unknown recipient; returns the connection's count (0: not a tracked connection) */
  unknownRecipient(session: string): number {
    const c = this.open.get(session)
    return c ? ++c.unknownRecipients : 0
  }

  close(session: string): void {
    this.open.delete(session)
  }
}
