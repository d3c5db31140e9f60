/**
 * GET /healthz: healthy when every listener `serve` reported is still listening and the store
 * answers and commits. Each reason it is not is one line, so a monitor's alert says which part is
 * down: `listener imap is not listening`, `store: the last commit failed (…)`, `shutting down`.
 */
import {listenersDown} from '../listen.js'
import type {MailboxStore} from '../store/backend.js'

export interface HealthSources {
  store: MailboxStore
  /** names of the listeners serve bound (smtp, imap, …, control, metrics) */
  listeners(): string[]
  /** the last store commit failed: why */
  commitFailure(): Error | undefined
  stopping(): boolean
}

/** how long the store may take to answer a health probe */
export const STORE_PROBE_MS = 2_000

/** what is down; empty when all is up */
export async function unhealthy(sources: HealthSources): Promise<string[]> {
  const reasons: string[] = []
  if (sources.stopping()) reasons.push('shutting down')
  for (const name of listenersDown(sources.listeners())) reasons.push(`listener ${name} is not listening`)
  const failure = sources.commitFailure()
  if (failure) reasons.push(`store: the last commit failed (${failure.message})`)
  const probe = await probeStore(sources.store)
  if (probe) reasons.push(`store: ${probe}`)
  return reasons
}

async function probeStore(store: MailboxStore): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${STORE_PROBE_MS} ms`), STORE_PROBE_MS)))
  try {
    return await Promise.race([store.stats().then(() => undefined), late])
  } catch (err) {
    return (err as Error).message
  } finally {
    clearTimeout(timer)
  }
}
