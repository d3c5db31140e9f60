/**
 * The LMDB store's size and free pages (`store.stats()`), the size of its compacted copy
 * (`store.compactedBytes()`, a backup's progress total), and the timing of its group commits
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

type RootStat = PageStat & {lastPageNumber: number; root: PageStat; free: PageStat}

/** the pages of the meta pages, the root and every named database: all but the free list and the free pages */
function treePages(root: RootStat, databases: readonly Database<unknown, never>[]): number {
  let used = META_PAGES + pagesOf(root.root)
  for (const db of databases) used += pagesOf(db.getStats() as PageStat)
  return used
}

export function lmdbStats(path: string, env: RootDatabase, databases: readonly Database<unknown, never>[]): StoreStats {
  const root = env.getStats() as RootStat
  const used = treePages(root, databases) + pagesOf(root.free)
  return {sizeBytes: statSync(path).size, freePages: Math.max(0, root.lastPageNumber + 1 - used), pageSize: root.pageSize}
}

/** the bytes a compacted copy (`mailbox backup`: mdb_env_copy2 with MDB_CP_COMPACT) writes: the trees' pages, no free list */
export function compactedBytes(env: RootDatabase, databases: readonly Database<unknown, never>[]): number {
  const root = env.getStats() as RootStat
  return treePages(root, databases) * root.pageSize
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
