/**
 * The delivery path's cache of parsed active scripts (src/sieve-delivery/scripts.ts): a parse is
 * reused while the text is the same, and the cache is bounded by entries and by the scripts'
 * total size (a parsed 64 KiB script takes ~2 MB: 10,000 of them would not fit in memory).
 */
import {describe, expect, it} from 'vitest'
import {ScriptCache} from '../../src/sieve-delivery/scripts.js'

const source = (scripts: Map<string, string>) => ({
  active: async (user: string) => {
    const content = scripts.get(user)
    return content === undefined ? undefined : {name: 'main', content, active: true}
  },
})

describe('ScriptCache', () => {
  it('reuses a parse while the text is the same, parses again when it changed', async () => {
    const scripts = new Map([['a@x', 'keep;']])
    const cache = new ScriptCache()
    const first = await cache.active(source(scripts), 'a@x')
    expect((await cache.active(source(scripts), 'a@x'))!.parsed).toBe(first!.parsed)
    scripts.set('a@x', 'discard;')
    expect((await cache.active(source(scripts), 'a@x'))!.parsed).not.toBe(first!.parsed)
    scripts.delete('a@x')
    expect(await cache.active(source(scripts), 'a@x')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('holds at most maxBytes of script text: the least recently used go first', async () => {
    const big = `keep;\n#${'x'.repeat(1000)}\n`
    const scripts = new Map(Array.from({length: 10}, (_, i) => [`u${i}@x`, big] as [string, string]))
    const cache = new ScriptCache(10_000, 3 * big.length)
    for (let i = 0; i < 10; i++) await cache.active(source(scripts), `u${i}@x`)
    expect(cache.size).toBe(3)
    // one larger than the whole budget is still cached (alone), so its deliveries parse it once
    scripts.set('huge@x', big.repeat(5))
    await cache.active(source(scripts), 'huge@x')
    expect(cache.size).toBe(1)
  })

  it('runs a script larger than the language\'s default limit (64 KiB): sieve.maxScriptBytes let it be stored', async () => {
    const text = `keep;\n${'# a comment line\n'.repeat(5000)}`
    expect(text.length).toBeGreaterThan(65536)
    const entry = await new ScriptCache().active(source(new Map([['a@x', text]])), 'a@x')
    expect(entry!.parsed.ok).toBe(true)
  })

  it('holds at most maxEntries scripts', async () => {
    const scripts = new Map(Array.from({length: 10}, (_, i) => [`u${i}@x`, 'keep;'] as [string, string]))
    const cache = new ScriptCache(4)
    for (let i = 0; i < 10; i++) await cache.active(source(scripts), `u${i}@x`)
    expect(cache.size).toBe(4)
  })
})
