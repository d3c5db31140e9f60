/**
 * `store.changes` (./backend.ts) inside one process: the LMDB backends call `emit` right after a
 * commit resolved, and every listener hears it synchronously, in order. (Other processes on the
 * same LMDB store, a CLI command, are not heard: their changes show in the data, which LMDB reads
 * live.) The PostgreSQL store feeds one of these from its LISTEN connection (./pg/store.ts).
 */
import type {ChangeFeed, StoreChange} from './backend.js'

export class ChangeEmitter implements ChangeFeed {
  private readonly listeners = new Set<(change: StoreChange) => void>()

  /** a listener that threw (the others are still called); the owner sets where it is logged, as Bus.onListenerError */
  onListenerError: (err: unknown, change: StoreChange) => void = (err) => {
    process.emitWarning(`a store change listener failed: ${(err as Error)?.stack ?? String(err)}`)
  }

  on(listener: (change: StoreChange) => void): () => void {
    // a wrapper per subscription: the same function subscribed twice is called twice, and each off removes one
    const entry = (change: StoreChange) => listener(change)
    this.listeners.add(entry)
    return () => void this.listeners.delete(entry)
  }

  /** whether anyone listens (a caller may skip building a change nobody hears) */
  get listening(): boolean {
    return this.listeners.size > 0
  }

  emit(change: StoreChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change)
      } catch (err) {
        this.onListenerError(err, change)
      }
    }
  }
}
