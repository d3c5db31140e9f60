/**
 * One delivery attempt, as the sender thread (./worker.ts) runs it: over a connection kept from
 * the sender's previous message when it still works, else through each next hop (route,
 * smarthost or MX hosts) and each of its addresses until one answers. The connections are held
 * here, by number, so the queue's foreman (on the main thread) names a kept one without touching it.
 */
import {sessionOutcome} from '../tls-rpt/classify.js'
import type {TlsOutcome} from '../tls-rpt/outcome.js'
import {TlsRefusal} from './outbound-tls.js'
import {PermanentRouteError, Router, type RouteConfig} from './route.js'
import {SmtpSession, outcomeOf, peerAddress, type AttemptResult, type ClientOptions} from './smtp-client.js'

export interface AttemptJob {
  domain: string
  from: string
  /** the recipients still open */
  recipients: string[]
  message: Buffer
}

export interface AttemptOutcome {
  result: AttemptResult
  /** the connection left open for the sender's next message */
  session?: number
}

/** a refusal while connecting (greeting 5xx, AUTH 535) is the host's verdict; anything else is temporary */
const outcomeOfConnect = (err: {responseCode?: number}): 'failed' | 'deferred' => (outcomeOf(err.responseCode) === 'failed' ? 'failed' : 'deferred')

export class Deliverer {
  private router: Router
  private readonly sessions = new Map<number, SmtpSession>()
  private nextSession = 1

  constructor(
    route: RouteConfig,
    private client: ClientOptions,
  ) {
    this.router = new Router(route)
  }

  /** A reload: attempts that begin from now on take these routes and this trust; kept connections stay. */
  configure(route: RouteConfig, client: ClientOptions): void {
    this.router = new Router(route)
    this.client = client
  }

  async attempt(job: AttemptJob, kept?: number): Promise<AttemptOutcome> {
    const session = kept === undefined ? undefined : this.sessions.get(kept)
    if (kept !== undefined) this.sessions.delete(kept)
    if (session?.usable) {
      const result = await session.send(job.from, job.recipients, job.message)
      if (session.usable || result.recipients.some((r) => r.outcome !== 'deferred')) return this.keep(result, session)
      session.close() // the kept connection broke: try afresh below
    }
    const {result, session: opened} = await this.deliver(job)
    return opened ? this.keep(result, opened) : {result}
  }

  close(kept: number): void {
    this.sessions.get(kept)?.close()
    this.sessions.delete(kept)
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id)
  }

  private keep(result: AttemptResult, session: SmtpSession): AttemptOutcome {
    if (!session.usable) {
      session.close()
      return {result}
    }
    const id = this.nextSession++
    this.sessions.set(id, session)
    return {result, session: id}
  }

  /** Tries each hop and each of its addresses until one answers; returns the open session. */
  private async deliver({domain, from, recipients, message}: AttemptJob): Promise<{result: AttemptResult; session?: SmtpSession}> {
    const transcript: string[] = []
    const all = (outcome: 'failed' | 'deferred', reply: string, host = ''): AttemptResult => ({host, transcript, recipients: recipients.map((address) => ({address, outcome, reply}))})
    const router = this.router
    const client = this.client
    let hops
    try {
      hops = await router.hops(domain)
    } catch (err) {
      transcript.push(`!: ${(err as Error).message}`)
      return {result: err instanceof PermanentRouteError ? all('failed', `550 5.1.2 ${(err as Error).message}`) : all('deferred', `451 4.4.3 ${(err as Error).message}`)}
    }
    let last = all('deferred', '451 4.4.1 no host could be reached')
    // each session to an MX host, for the TLS reports (a route or smarthost is not reported)
    const outcomes: TlsOutcome[] = []
    const counted = (outcome: TlsOutcome | undefined) => void (outcome && outcomes.push(outcome))
    const withOutcomes = (result: AttemptResult): AttemptResult => (outcomes.length ? {...result, tlsOutcomes: outcomes} : result)
    for (const hop of hops) {
      let addresses: string[]
      try {
        addresses = await router.addresses(hop.host)
      } catch (err) {
        transcript.push(`!: ${hop.host}: ${(err as Error).message}`)
        continue
      }
      for (const address of addresses) {
        transcript.push(`-- ${hop.host} [${address}]:${hop.port}`)
        let session: SmtpSession
        try {
          session = await SmtpSession.open(hop, address, client)
        } catch (err) {
          const failure = err as Error & {responseCode?: number; response?: string; transcript?: string[]; tlsError?: string}
          transcript.push(...(failure.transcript ?? []))
          if (hop.mx) counted(sessionOutcome(domain, hop.host, address, {opened: false, ...(failure.tlsError ? {tlsError: failure.tlsError} : {})}))
          // no verified TLS for a hop with credentials: deferred, whatever the server answered
          if (failure instanceof TlsRefusal) {
            last = {...all('deferred', `${failure.reply} ${failure.message}`, `${hop.host}:${hop.port}`), address: peerAddress(address, hop.port)}
            continue
          }
          last = {...all(outcomeOfConnect(failure), failure.response ?? failure.message, `${hop.host}:${hop.port}`), address: peerAddress(address, hop.port)}
          // a host that answered with an SMTP refusal (e.g. AUTH failed) has spoken: stop there
          if (failure.responseCode) return {result: withOutcomes(last)}
          continue
        }
        if (hop.mx) counted(sessionOutcome(domain, hop.host, address, {opened: true, tls: session.tls, offeredStartTls: session.offeredStartTls}))
        const result = await session.send(from, recipients, message)
        return {result: withOutcomes({...result, transcript: [...transcript, ...result.transcript]}), session}
      }
    }
    return {result: withOutcomes(last)}
  }
}
