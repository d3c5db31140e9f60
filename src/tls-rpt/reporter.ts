/**
 * The daily TLS reports (RFC 8460): a background task (../repeating-task.ts) that looks every
 * `tlsRpt.intervalMs` for (policy domain, UTC day) counts whose day ended `sendAfterMs` ago, and
 * for each:
 *
 * 1. claims it in the store (a lease: of several nodes on one PostgreSQL store one sends it);
 * 2. asks DNS for `_smtp._tls.<domain>` (./report.ts): no record, nothing to send;
 * 3. builds the report (§4), gzips it, and sends it to each destination not served yet: a
 *    `mailto:` through our own queue (`mailstore.inject`, so it is DKIM-signed like any mail from
 *    a local domain and retried by the queue), an `https:` by POST (bounded by `httpTimeoutMs`);
 * 4. settles it: done (its counts dropped, the day kept as sent so late counts cannot make a
 *    second report) once every destination has it or after `maxAttempts` runs; otherwise what
 *    went out is recorded and the next run tries the rest.
 *
 * A day is sent at most once per destination, except after a crash between queueing a report
 * and recording that (milliseconds): the next run sends it again, with the same Report-ID.
 *
 * No report loops: the sessions that carry report mail are not counted (`isReport`, known by a
 * signed Message-ID, ./report-mark.ts: the queue leaves out the outcomes of our report mail, and
 * applies no MTA-STS policy to it: it must go whatever the TLS), as RFC 8460 §5.3 asks, and local
 * domains are never reported on. Counts older than `retentionMs` are purged at each run.
 */
import {promisify} from 'node:util'
import {gzip} from 'node:zlib'
import type {Actor, Bus} from '../bus.js'
import {dnsResolver, withTimeout} from '../dns-resolver.js'
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {MailboxStore} from '../store/backend.js'
import {utcDayOf, type TlsReportDay} from '../store/tls-report-rules.js'
import type {TlsRptConfig} from './config.js'
import {buildReport, mailtoAddress, parseTlsRptRecord, reportMessage, type ReportMeta} from './report.js'
import {isMarked, markedMessageId} from './report-mark.js'

/** how long a claim holds a day: far more than a run's DNS and POSTs for it take */
const LEASE_MS = 15 * 60_000
const DUE_BATCH = 100
const DNS_ATTEMPT_MS = 5000
const DNS_DEADLINE_MS = 15_000
/** what of a message's start is searched for the report's header field: ours puts it near the top */
const HEADER_BYTES = 8192
const REPORT_FIELD = /^TLS-Report-Submission:/im

const headerOf = (message: Buffer): string => {
  const head = message.subarray(0, HEADER_BYTES).toString('latin1')
  const end = head.search(/\r?\n\r?\n/)
  return end < 0 ? head : head.slice(0, end)
}

export interface ReporterOptions {
  /** live objects: a reload assigns into them */
  config: {hostname: string; dnsServers: string[]; tlsRpt: TlsRptConfig}
  now?: () => number
  /** TXT lookup (tests may answer); default: the configured DNS servers */
  resolveTxt?: (name: string) => Promise<string[][]>
  /** POST of a report to an https destination; default: node:https */
  post?: (url: string, body: Buffer, timeoutMs: number) => Promise<void>
}

/** what one run did */
export interface ReportRun {
  days: number
  sent: number
}

export class TlsReporter implements Actor {
  readonly name = 'tls-rpt'
  private readonly runs: RepeatingTask
  /** the From addresses report mail went out with (this process, and the configured one) */
  private readonly senders = new Set<string>()
  /**
   * signs our report mail's Message-ID (./report-mark.ts); made at the first report, and read only
   * when a message looks like one, so a store that never sent a report never gets the secret
   */
  private secret?: Promise<Buffer>

  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly options: ReporterOptions,
  ) {
    this.runs = new RepeatingTask(
      () => this.runOnce(),
      () => this.options.config.tlsRpt.intervalMs,
      (err) => this.log.error({err}, 'TLS reports could not be sent'),
    )
  }

  async start(): Promise<void> {
    // known before the queue starts: report mail queued before a restart is not counted either
    this.senders.add(await this.sender())
    this.runs.start()
  }

  async stop(): Promise<void> {
    await this.runs.stop()
  }

  /**
   * Whether a queued message is one of our TLS reports: from the report sender, with the
   * TLS-Report-Submission field and our signed Message-ID (a user's mail from that address, even
   * with the field added, is not).
   */
  async isReport(from: string, message: Buffer): Promise<boolean> {
    if (!this.senders.has(from.toLowerCase())) return false
    const header = headerOf(message)
    if (!REPORT_FIELD.test(header)) return false
    // the secret unreadable (a store error): ordinary mail, under the recipient's policy
    const secret = await this.markSecret().catch(() => undefined)
    return secret !== undefined && isMarked(secret, header)
  }

  private markSecret(): Promise<Buffer> {
    const made = (this.secret ??= this.store.settings.secret('tls-rpt'))
    // a failed read is not kept: the next report asks again
    made.catch(() => {
      if (this.secret === made) this.secret = undefined
    })
    return made
  }

  async runOnce(): Promise<ReportRun> {
    const config = this.options.config.tlsRpt
    const now = this.now()
    const purged = await this.store.tlsReports.purge(utcDayOf(now - config.retentionMs))
    if (purged) this.log.info({purged}, 'TLS report counts past their retention removed')
    const run: ReportRun = {days: 0, sent: 0}
    const beforeDay = utcDayOf(now - config.sendAfterMs)
    const meta = await this.meta()
    for (;;) {
      const due = await this.store.tlsReports.due(beforeDay, now, DUE_BATCH)
      for (const {day, policyDomain} of due) {
        if (this.runs.stopping) return run
        const claimed = await this.store.tlsReports.claim(day, policyDomain, now, LEASE_MS)
        if (!claimed) continue
        run.days++
        run.sent += await this.report(claimed, meta)
      }
      if (due.length < DUE_BATCH) return run
    }
  }

  /** sends one claimed day where it has not gone yet, and settles it; how many destinations took it */
  private async report(day: TlsReportDay, meta: ReportMeta & {from: string}): Promise<number> {
    const {maxAttempts, httpTimeoutMs} = this.options.config.tlsRpt
    const where = {policyDomain: day.policyDomain, day: day.day}
    const sentTo = [...day.sentTo]
    let destinations: string[] | undefined
    try {
      destinations = (await this.store.directory.isLocalDomain(day.policyDomain)) ? undefined : await this.destinations(day.policyDomain)
    } catch (err) {
      this.log.warn({...where, err: (err as Error).message}, 'TLS report: the _smtp._tls lookup failed; tried again at the next run')
      await this.store.tlsReports.settle(day.day, day.policyDomain, {sentTo, done: day.attempts >= maxAttempts})
      return 0
    }
    let sent = 0
    if (destinations) {
      const gzipped = await promisify(gzip)(Buffer.from(JSON.stringify(buildReport(day, meta))))
      for (const uri of destinations.filter((d) => !sentTo.includes(d))) {
        try {
          if (/^mailto:/i.test(uri)) await this.mail(uri, day, meta, gzipped)
          else await (this.options.post ?? postReport)(uri, gzipped, httpTimeoutMs)
          sentTo.push(uri)
          sent++
          this.log.info({...where, to: uri}, 'TLS report sent')
        } catch (err) {
          this.log.warn({...where, to: uri, err: (err as Error).message, attempt: day.attempts}, 'TLS report could not be sent')
        }
      }
    }
    const done = !destinations || destinations.every((d) => sentTo.includes(d)) || day.attempts >= maxAttempts
    await this.store.tlsReports.settle(day.day, day.policyDomain, {sentTo, done})
    return sent
  }

  /** the domain's report destinations; undefined: it takes no reports. Throws on a DNS failure that may pass. */
  private async destinations(domain: string): Promise<string[] | undefined> {
    const name = `_smtp._tls.${domain}`
    const lookup = this.options.resolveTxt ?? ((n: string) => dnsResolver(this.options.config.dnsServers, DNS_ATTEMPT_MS).resolveTxt(n))
    try {
      // a rejection adopted by the race (a throw in late() would escape from its timer)
      const late = () => Promise.reject(Object.assign(new Error(`no answer for ${name} in ${DNS_DEADLINE_MS} ms`), {code: 'ETIMEOUT'})) as never
      const records = await withTimeout(lookup(name), DNS_DEADLINE_MS, late)
      return parseTlsRptRecord(records)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOTFOUND' || code === 'ENODATA') return undefined
      throw err
    }
  }

  private async mail(uri: string, day: TlsReportDay, meta: ReportMeta & {from: string}, gzipped: Buffer): Promise<void> {
    const to = mailtoAddress(uri)
    if (!to) throw new Error(`${uri} names no address`)
    const raw = reportMessage({from: meta.from, to, submitter: meta.submitter, day, gzipped, messageId: markedMessageId(await this.markSecret(), this.options.config.hostname)})
    await this.bus.call('mailstore.inject', {from: meta.from, to: [to], raw: raw.toString('base64')})
  }

  private async meta(): Promise<ReportMeta & {from: string}> {
    const {tlsRpt, hostname} = this.options.config
    const from = await this.sender()
    this.senders.add(from)
    return {from, submitter: hostname, organizationName: tlsRpt.organizationName ?? from.slice(from.indexOf('@') + 1), contact: tlsRpt.contact ?? from}
  }

  /** the configured From, else postmaster@ the local domain the host name is in (so the report is DKIM-signed), else of its parent */
  private async sender(): Promise<string> {
    const {tlsRpt, hostname} = this.options.config
    if (tlsRpt.from) return tlsRpt.from.toLowerCase()
    const host = hostname.toLowerCase()
    const local = (await this.store.directory.domains()).map((d) => d.name).filter((d) => host === d || host.endsWith(`.${d}`))
    const domain = local.sort((a, b) => b.length - a.length)[0] ?? (host.split('.').length > 2 ? host.slice(host.indexOf('.') + 1) : host)
    return `postmaster@${domain}`
  }

  private now(): number {
    return (this.options.now ?? Date.now)()
  }
}

/** POSTs a report (RFC 8460 §5.4): any 2xx is taken; the whole exchange is bounded by `timeoutMs` */
export async function postReport(url: string, body: Buffer, timeoutMs: number): Promise<void> {
  const {request} = await import('node:https')
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(deadline)
      if (err) reject(err)
      else resolve()
    }
    const req = request(url, {method: 'POST', headers: {'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': body.length}}, (res) => {
      const status = res.statusCode ?? 0
      // the answer's body means nothing to us: read and dropped, within the deadline
      res.resume()
      res.on('end', () => settle(status >= 200 && status < 300 ? undefined : new Error(`${url} answered HTTP ${status}`)))
      res.on('error', settle)
    })
    const deadline = setTimeout(() => req.destroy(new Error(`${url} did not answer in ${timeoutMs} ms`)), timeoutMs)
    req.on('error', settle)
    req.end(body)
  })
}
