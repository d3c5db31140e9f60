/**
 * The LMDB store's size and free pages (`store.stats()`), and the timing of its group commits
 * (`store.observeCommits`).
 *
 * Free pages: LMDB keeps pages freed by earlier transactions in a free list it reuses before the
 * file grows, but lmdb-js 3.5.6 reports only how many free-list records there are, not how many
 * pages they hold. So they are counted from the other side: every page up to the last one written
 * is either a meta page (2), a page of a database (the root, which holds the named databases'
 * records, and each named database: branch, leaf and overflow pages) or a page of the free list
 * itself — or it is free. Each figure comes from the same read snapshot's statistics.
 */
import {statSync} from 'node:fs'
import type {Database, RootDatabase} from 'lmdb'
import type {CommitObserver, StoreStats} from './backend.js'
import {isCommitFailure} from './commit-failure.js'

interface PageStat {
  pageSize: number
  treeBranchPageCount: number
  treeLeafPageCount: number
  overflowPages: number
}

/** pages one B-tree takes */
const pagesOf = (stat: PageStat): number => stat.treeBranchPageCount + stat.treeLeafPageCount + stat.overflowPages

const META_PAGES = 2

export function lmdbStats(path: string, env: RootDatabase, databases: readonly Database<unknown, never>[]): StoreStats {
  const root = env.getStats() as PageStat & {lastPageNumber: number; root: PageStat; free: PageStat}
  let used = META_PAGES + pagesOf(root.root) + pagesOf(root.free)
  for (const db of databases) used += pagesOf(db.getStats() as PageStat)
  return {sizeBytes: statSync(path).size, freePages: Math.max(0, root.lastPageNumber + 1 - used), pageSize: root.pageSize}
}

/**
 * The one observer of a store's commits (serve's metrics), and a `transactAsync` that reports to
 * it: with none set, a write costs nothing more than before.
 */
export class CommitTimer {
  private observer?: CommitObserver

  observe(observer: CommitObserver): () => void {
    this.observer = observer
    return () => void (this.observer === observer && (this.observer = undefined))
  }

  /** `commit` resolves once durable or rejects; a rejection other than a failed commit is the writer's own */
  timed<T>(commit: () => Promise<T>): Promise<T> {
    const observer = this.observer
    if (!observer) return commit()
    const started = performance.now()
    return commit().then(
      (result) => {
        observer((performance.now() - started) / 1000, undefined)
        return result
      },
      (err: unknown) => {
        if (isCommitFailure(err)) observer((performance.now() - started) / 1000, err)
        throw err
      },
    )
  }
}
