/**
 * Each user's active script, parsed once: the store is asked for the active script's text at
 * every delivery (one cheap read), and the parse is reused while the text is the same. A
 * `{kind: 'sieve'}` store change drops the user's entry (its memory; a changed text would be
 * parsed again anyway). Bounded by entries and by the scripts' total bytes (a parse takes ~30
 * times its text in memory: a 64 KiB script ~2 MB), the least recently used going first; a miss
 * costs one parse (~60 µs for a typical script).
 */
import {parseSieve, type ParseResult} from '../sieve/index.js'
import type {SieveStore} from '../store/backend.js'

export interface ActiveScript {
  name: string
  content: string
  parsed: ParseResult
}

/**
 * the size was checked when the script was stored (config sieve.maxScriptBytes, which may be above
 * the language's default): a script stored under that limit runs
 */
const STORED = {maxScriptBytes: Number.MAX_SAFE_INTEGER}

/** scripts' text held parsed at most, in characters (~128 MB of parse trees) */
const MAX_CACHED_BYTES = 4 * 1024 * 1024

export class ScriptCache {
  private readonly byUser = new Map<string, ActiveScript>()
  /** the cached scripts' text, in UTF-16 units (what the memory follows) */
  private length = 0

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxBytes = MAX_CACHED_BYTES,
  ) {}

  async active(source: Pick<SieveStore, 'active'>, user: string): Promise<ActiveScript | undefined> {
    const script = await source.active(user)
    if (!script) {
      this.forget(user)
      return undefined
    }
    let entry = this.byUser.get(user)
    // most recently used last: the Map's order is the eviction order
    this.forget(user)
    if (!entry || entry.content !== script.content) entry = {name: script.name, content: script.content, parsed: parseSieve(script.content, STORED)}
    entry = {...entry, name: script.name}
    this.byUser.set(user, entry)
    this.length += entry.content.length
    while (this.byUser.size > 1 && (this.byUser.size > this.maxEntries || this.length > this.maxBytes)) this.forget(this.byUser.keys().next().value!)
    return entry
  }

  forget(user: string): void {
    const entry = this.byUser.get(user)
    if (!entry) return
    this.length -= entry.content.length
    this.byUser.delete(user)
  }

  get size(): number {
    return this.byUser.size
  }
}
