/**
 * Counters that follow the bus (src/bus.ts): the actors publish what happened, these count it.
 * No protocol code knows about metrics. Each label value's child is looked up once and kept, so a
 * counted event costs a map lookup and an increment (the bus has made its event object already).
 *
 *  mail.received          → mailbox_messages_received_total
 *  mail.stored            → mailbox_messages_delivered_total{destination="local"} (one per local recipient)
 *  queue.delivered        → mailbox_messages_delivered_total{destination="remote"} (one per queue entry)
 *  queue.deferred         → mailbox_messages_deferred_total (one per deferred attempt)
 *  queue.failed           → mailbox_messages_failed_total
 *  queue.bounced          → mailbox_messages_bounced_total (a delivery status notification went back)
 *  smtp.rejected          → mailbox_messages_rejected_total{stage, reason}
 *  greylist.checked       → mailbox_greylist_decisions_total{result, reason}
 *  spam.decided           → mailbox_spam_decisions_total{action} (deliver, junk, reject, defer)
 *  auth.succeeded/failed  → mailbox_auth_successes_total{protocol}, mailbox_auth_failures_total{protocol, reason}
 *  rspamd.checked         → mailbox_rspamd_checks_total{action} (action `failed`: no verdict, failed open)
 *  spam.learn             → mailbox_spam_learn_total{kind, outcome} (messages moved into or out of Junk)
 *  sieve.ran              → mailbox_sieve_runs_total{result} (ok, failed: kept in INBOX), mailbox_sieve_actions_total{action}
 */
import {Counter, type Registry} from 'prom-client'
import type {Bus, EventMap} from '../bus.js'

/** `metric.labels(...values)`, made once per distinct values */
export function childCache<C>(make: (...values: string[]) => C): (...values: string[]) => C {
  const children = new Map<string, C>()
  return (...values) => {
    const key = values.length === 1 ? values[0]! : values.join('\0')
    let child = children.get(key)
    if (!child) children.set(key, (child = make(...values)))
    return child
  }
}

export function countEvents(bus: Bus, registry: Registry): () => void {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({name, help, labelNames, registers: [registry]})
  const received = counter('mailbox_messages_received_total', 'messages accepted by SMTP (or injected), once per message')
  const delivered = counter('mailbox_messages_delivered_total', 'messages delivered: stored for a local recipient, or accepted by a remote next hop', ['destination'])
  const deferred = counter('mailbox_messages_deferred_total', 'outbound delivery attempts that ended deferred (to be retried)')
  const failed = counter('mailbox_messages_failed_total', 'outbound queue entries that failed for good')
  const bounced = counter('mailbox_messages_bounced_total', 'delivery status notifications sent back to the sender of a failed message')
  const rejected = counter('mailbox_messages_rejected_total', 'SMTP commands of a mail transaction refused, by stage (mail, rcpt, data) and reason', ['stage', 'reason'])
  const greylist = counter('mailbox_greylist_decisions_total', 'greylisting decisions at RCPT: result wait (first, early), pass (retried, passed, network, full, error) or skip (authenticated, allow-listed, allow-network)', ['result', 'reason'])
  const spamDecided = counter('mailbox_spam_decisions_total', 'messages from outside scored by the spam check, by what it did (deliver, junk, reject, defer)', ['action'])
  const authOk = counter('mailbox_auth_successes_total', 'successful logins by protocol', ['protocol'])
  const authFailed = counter('mailbox_auth_failures_total', 'failed logins by protocol and reason (bad-credentials, throttled, disabled)', ['protocol', 'reason'])
  // zero from the start: a rate() over a counter that appears late misses its first increments
  for (const destination of ['local', 'remote']) delivered.labels(destination)
  const local = delivered.labels('local')
  const remote = delivered.labels('remote')
  const rspamdChecks = counter('mailbox_rspamd_checks_total', "inbound messages checked by rspamd, by its action (failed: no answer in time or an error; the message was taken without a verdict)", ['action'])
  const learned = counter('mailbox_spam_learn_total', 'messages users moved into Junk (spam) or out of it (ham), by what became of them: queued, learned, failed, gone, overflow (queue full), untrained (no rspamd)', ['kind', 'outcome'])
  const rspamdBy = childCache((action) => rspamdChecks.labels(action!))
  const learnedBy = childCache((kind, outcome) => learned.labels(kind!, outcome!))
  for (const action of ['deliver', 'junk', 'reject', 'defer']) spamDecided.labels(action)
  const spamBy = childCache((action) => spamDecided.labels(action!))
  const rejectedBy = childCache((stage, reason) => rejected.labels(stage!, reason!))
  const greylistBy = childCache((result, reason) => greylist.labels(result!, reason!))
  const authOkBy = childCache((protocol) => authOk.labels(protocol!))
  const authFailedBy = childCache((protocol, reason) => authFailed.labels(protocol!, reason!))
  const sieveRuns = counter('mailbox_sieve_runs_total', "users' Sieve scripts run at delivery, by result: ok, or failed (a runtime error or limit: the message was kept in INBOX)", ['result'])
  const sieveActions = counter('mailbox_sieve_actions_total', 'what Sieve scripts did at delivery: keep, implicit-keep, fileinto, redirect, reject, ereject, discard, vacation, vacation-suppressed', ['action'])
  for (const result of ['ok', 'failed']) sieveRuns.labels(result)
  const sieveRunsBy = childCache((result) => sieveRuns.labels(result!))
  const sieveActionsBy = childCache((action) => sieveActions.labels(action!))
  const unsubscribe = [
    bus.subscribe('mail.received', () => received.inc()),
    bus.subscribe('mail.stored', () => local.inc()),
    bus.subscribe('queue.delivered', () => remote.inc()),
    bus.subscribe('queue.deferred', () => deferred.inc()),
    bus.subscribe('queue.failed', () => failed.inc()),
    bus.subscribe('queue.bounced', () => bounced.inc()),
    bus.subscribe('smtp.rejected', ({body}) => {
      const {stage, reason} = body as EventMap['smtp.rejected']
      rejectedBy(stage, reason).inc()
    }),
    bus.subscribe('rspamd.checked', ({body}) => rspamdBy((body as EventMap['rspamd.checked']).action).inc()),
    bus.subscribe('spam.learn', ({body}) => {
      const {kind, outcome, count} = body as EventMap['spam.learn']
      learnedBy(kind, outcome).inc(count)
    }),
    bus.subscribe('greylist.checked', ({body}) => {
      const {result, reason} = body as EventMap['greylist.checked']
      greylistBy(result, reason).inc()
    }),
    bus.subscribe('sieve.ran', ({body}) => {
      const {actions, errors} = body as EventMap['sieve.ran']
      sieveRunsBy(errors?.length ? 'failed' : 'ok').inc()
      // the kind only: folder names and addresses would make a label per user
      for (const action of actions) sieveActionsBy(action.split(':')[0]!).inc()
    }),
    bus.subscribe('spam.decided', ({body}) => spamBy((body as EventMap['spam.decided']).action).inc()),
    bus.subscribe('auth.succeeded', ({body}) => authOkBy((body as EventMap['auth.succeeded']).protocol).inc()),
    bus.subscribe('auth.failed', ({body}) => {
      const {protocol, reason} = body as EventMap['auth.failed']
      authFailedBy(protocol, reason).inc()
    }),
  ]
  return () => unsubscribe.forEach((off) => off())
}
