/**
 * Each user's active script, parsed once: the store is asked for the active script's text at
 * every delivery (one cheap read), and the parse is reused while the text is the same. A
 * `{kind: 'sieve'}` store change drops the user's entry (its memory; a changed text would be
 * parsed again anyway). Bounded: the least recently used entries go first.
 */
import {parseSieve, type ParseResult} from '../sieve/index.js'
import type {SieveStore} from '../store/backend.js'

export interface ActiveScript {
  name: string
  content: string
  parsed: ParseResult
}

export class ScriptCache {
  private readonly byUser = new Map<string, ActiveScript>()

  constructor(private readonly maxEntries = 10_000) {}

  async active(source: Pick<SieveStore, 'active'>, user: string): Promise<ActiveScript | undefined> {
    const script = await source.active(user)
    if (!script) {
      this.byUser.delete(user)
      return undefined
    }
    let entry = this.byUser.get(user)
    if (entry && entry.content === script.content) {
      // most recently used last: the Map's order is the eviction order
      this.byUser.delete(user)
    } else {
      entry = {name: script.name, content: script.content, parsed: parseSieve(script.content)}
    }
    this.byUser.set(user, {...entry, name: script.name})
    if (this.byUser.size > this.maxEntries) this.byUser.delete(this.byUser.keys().next().value!)
    return this.byUser.get(user)
  }

  forget(user: string): void {
    this.byUser.delete(user)
  }

  get size(): number {
    return this.byUser.size
  }
}
