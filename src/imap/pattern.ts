/**
 * LIST/LSUB patterns (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the hierarchy
 * separator, every other character itself; INBOX matches in any case (§5.1).
 *
 * Matched by walking the name once while tracking the set of pattern positions still possible
 * (an NFA), so the cost is at most name length × pattern length whatever the wildcards. A
 * backtracking regular expression took minutes on `*a*a*a*a*a*a*a*a*a*a*b` against a long name,
 * and the whole server with it.
 */

/** folder names are at most 512 bytes (src/mailstore/folders.ts), so at most 512 characters */
const MAX_NAME_CHARS = 512

export function listPattern(input: string): (name: string) => boolean {
  // consecutive wildcards: `**` is `*`, and a `*` next to `%` absorbs it
  let pattern = input.replace(/[*%]{2,}/g, (run) => (run.includes('*') ? '*' : '%'))
  if (/^inbox(?=$|\/|\*|%)/i.test(pattern)) pattern = 'INBOX' + pattern.slice(5)
  const p = Array.from(pattern)
  const m = p.length
  // every other character must meet one of the name's: a pattern with more cannot match, and
  // so every pattern that can match is at most about twice a name long (bounding the work)
  if (p.filter((c) => c !== '*' && c !== '%').length > MAX_NAME_CHARS) return () => false
  // positions reachable without consuming a character: a wildcard may match nothing
  const close = (set: Uint8Array) => {
    for (let i = 0; i < m; i++) if (set[i] && (p[i] === '*' || p[i] === '%')) set[i + 1] = 1
  }
  return (name) => {
    let current = new Uint8Array(m + 1)
    current[0] = 1
    close(current)
    for (const c of name) {
      const next = new Uint8Array(m + 1)
      let alive = false
      for (let i = 0; i < m; i++) {
        if (!current[i]) continue
        const q = p[i]
        if (q === '*' || (q === '%' && c !== '/')) next[i] = 1
        else if (q === c) next[i + 1] = 1
        else continue
        alive = true
      }
      if (!alive) return false
      close(next)
      current = next
    }
    return current[m] === 1
  }
}
