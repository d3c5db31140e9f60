/**
 * One delivery attempt, as the sender thread (./worker.ts) runs it: over a connection kept from
 * the sender's previous message when it still works, else through each next hop (route,
 * smarthost or MX hosts) and each of its addresses until one answers. The connections are held
 * here, by number, so the queue's foreman (on the main thread) names a kept one without touching it.
 *
 * MX hosts go by the domain's MTA-STS decision (the job's `sts`, made on the main thread: see
 * ../mta-sts/policies.ts): under `enforce` a host the policy does not list is skipped and a
 * session without a certificate verified for the MX name sends nothing, both deferring with the
 * reason in the transcript; under `testing` the same failures are only said. Every session opened
 * to an MX host is classified for the TLS report (the result's `tlsOutcomes`).
 */
import {activePolicy, enforced, mxAllowed, tlsFailureOf, tlsOutcome, type StsDecision, type TlsFailure} from '../mta-sts/outcome.js'
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
  /** the domain's MTA-STS policy, for MX delivery; absent: none */
  sts?: StsDecision
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
    // a connection kept from an earlier message may predate the domain's enforce policy (opened
    // under none, or before the policy was fetched): it carries this one only if it meets it
    if (session?.usable && enforced(job.sts) && !(session.tls.state === 'verified' && mxAllowed(job.sts, session.hostName))) session.close()
    else if (session?.usable) {
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
  private async deliver({domain, from, recipients, message, sts}: AttemptJob): Promise<{result: AttemptResult; session?: SmtpSession}> {
    const transcript: string[] = []
    const outcomes: TlsOutcome[] = []
    const all = (outcome: 'failed' | 'deferred', reply: string, host = ''): AttemptResult => ({host, transcript, recipients: recipients.map((address) => ({address, outcome, reply}))})
    const reported = (result: AttemptResult): AttemptResult => (outcomes.length ? {...result, tlsOutcomes: outcomes} : result)
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
    for (const next of hops) {
      // MTA-STS is about the domain's MX hosts; a route or the smarthost is the operator's choice
      const decision = next.mx ? sts : undefined
      const policy = activePolicy(decision)
      const hop = policy ? {...next, sts: {domain: decision!.domain, mode: policy.mode as 'enforce' | 'testing'}} : next
      let unlisted: TlsFailure | undefined
      if (!mxAllowed(decision, hop.host)) {
        const why = `MTA-STS policy of ${decision!.domain} (${policy!.mode}): ${hop.host} is not in the policy`
        unlisted = {type: 'validation-failure', detail: `${hop.host} is not in the policy`}
        if (policy!.mode === 'enforce') {
          transcript.push(`!: ${why}`)
          outcomes.push(tlsOutcome(domain, decision, hop.host, undefined, unlisted))
          last = all('deferred', `451 4.7.5 ${why}`, `${hop.host}:${hop.port}`)
          continue
        }
        transcript.push(`-- ${why} (testing: delivered all the same)`)
      }
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
          // no verified TLS for a hop with credentials, or under an enforce policy: deferred, whatever the server answered
          if (failure instanceof TlsRefusal) {
            if (hop.mx) outcomes.push(tlsOutcome(domain, decision, hop.host, address, failure.failure))
            last = {...all('deferred', `${failure.reply} ${failure.message}`, `${hop.host}:${hop.port}`), address: peerAddress(address, hop.port)}
            continue
          }
          // a TLS handshake after STARTTLS that broke (opportunistic TLS): the session ended there
          if (hop.mx && failure.tlsError) outcomes.push(tlsOutcome(domain, decision, hop.host, address, {type: 'validation-failure', detail: failure.tlsError}))
          last = {...all(outcomeOfConnect(failure), failure.response ?? failure.message, `${hop.host}:${hop.port}`), address: peerAddress(address, hop.port)}
          // a host that answered with an SMTP refusal (e.g. AUTH failed) has spoken: stop there
          if (failure.responseCode) return {result: reported(last)}
          continue
        }
        if (hop.mx) {
          const failure = unlisted ?? tlsFailureOf(session.tls, session.offeredStartTls)
          outcomes.push(tlsOutcome(domain, decision, hop.host, address, failure))
          if (failure && policy) transcript.push(`-- MTA-STS policy of ${decision!.domain} (testing): ${failure.type} (${failure.detail}), delivered all the same`)
        }
        const result = await session.send(from, recipients, message)
        return {result: reported({...result, transcript: [...transcript, ...result.transcript]}), session}
      }
    }
    return {result: reported(last)}
  }
}
