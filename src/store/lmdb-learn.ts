/**
 * `store.learn` (./backend.ts) on LMDB: learning jobs in `learnJobs` (id → LearnJob) with the due
 * order in `learnDue` ([dueAt, id] → null), both written in one transaction so the index never
 * names a job that is not there. One process serves an LMDB store, so a claim is simply the job
 * moved later in the due order (a crashed worker's jobs come due again when the lease runs out).
 */
import type {LearnJob, LearnStore} from './backend.js'
import {newId} from '../ids.js'
import {learnDueBeforeRange, learnDueKey} from './keys.js'
import type {Store} from './store.js'

export function lmdbLearn(store: Store): LearnStore {
  /** inside a write transaction: the job at its new due time */
  const put = (job: LearnJob, before?: LearnJob) => {
    if (before) store.learnDue.removeSync(learnDueKey(before.dueAt, before.id))
    store.learnJobs.putSync(job.id, job)
    store.learnDue.putSync(learnDueKey(job.dueAt, job.id), null)
  }
  const dueIds = (before: number, limit: number) => [...store.learnDue.getKeys({...learnDueBeforeRange(before), limit})].map((key) => key[1])

  return {
    enqueue: (jobs, now, maxQueued) =>
      store.transactAsync(() => {
        const room = Math.max(0, maxQueued - store.learnJobs.getCount())
        return jobs.slice(0, room).map((job) => {
          const record: LearnJob = {...job, id: newId(), createdAt: now, attempts: 0, dueAt: now}
          put(record)
          return record
        })
      }),

    claim: async (now, limit, leaseMs) => {
      if (!dueIds(now, 1).length) return []
      return store.transactAsync(() =>
        dueIds(now, limit).flatMap((id) => {
          const job = store.learnJobs.get(id)
          if (!job) return []
          put({...job, dueAt: now + leaseMs}, job)
          return [job]
        }),
      )
    },

    retry: (id, dueAt, lastError) =>
      store.transactAsync(() => {
        const job = store.learnJobs.get(id)
        if (!job) return false
        put({...job, attempts: job.attempts + 1, dueAt, lastError}, job)
        return true
      }),

    remove: (id) =>
      store.transactAsync(() => {
        const job = store.learnJobs.get(id)
        if (!job) return false
        store.learnDue.removeSync(learnDueKey(job.dueAt, job.id))
        store.learnJobs.removeSync(id)
        return true
      }),

    jobs: async () => [...store.learnDue.getKeys()].map((key) => store.learnJobs.get(key[1])!).filter(Boolean),
    count: async () => store.learnJobs.getCount(),
    nextDue: async () => {
      for (const key of store.learnDue.getKeys({limit: 1})) return key[0]
      return undefined
    },
  }
}
