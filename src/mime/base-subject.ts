/**
 * The base subject of RFC 5256 §2.1, which SORT SUBJECT and THREAD compare: the subject without
 * its "Re:", "Fwd:", "[list]" leaders, "(fwd)" trailers and "[fwd: …]" wrapping, encoded words
 * decoded and white space collapsed. Also whether anything of a reply or forward was removed,
 * which THREAD=REFERENCES needs when it merges threads by subject (§4, step 5).
 */
import type Libmime from 'libmime'
import {lazyRequire} from '../lazy-require.js'

export interface BaseSubject {
  /** the base subject as text (case kept) */
  text: string
  /** a subj-refwd, "(fwd)" trailer or subj-fwd wrapping was removed */
  replyOrForward: boolean
}

/** loaded at the first subject to decode (see lazy-require.ts) */
let libmime: typeof Libmime | undefined

/** RFC 2047 words decoded; a malformed word stays as it came */
export function decodeWords(value: string): string {
  const mime = (libmime ??= lazyRequire<typeof Libmime>('libmime'))
  try {
    return mime.decodeWords(value)
  } catch {
    return value
  }
}

/** subj-trailer = "(fwd)" / WSP */
const TRAILER = /(?:\(fwd\)| )$/i
/** subj-leader = (*subj-blob subj-refwd) / WSP, with subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
const LEADER = /^(?:((?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:)| )/i
/** subj-blob = "[" *BLOBCHAR "]" *WSP */
const BLOB = /^\[[^[\]]*\] */

/** RFC 5256 §2.1 steps 1 to 6, on the raw (possibly encoded) Subject value. */
export function baseSubject(raw: string): BaseSubject {
  // (1) decode, tabs and folding to spaces, runs of spaces to one
  let s = (raw.includes('=?') ? decodeWords(raw) : raw).replace(/[\t\r\n]/g, ' ').replace(/ {2,}/g, ' ')
  let replyOrForward = false
  for (;;) {
    // (2) trailers
    for (let m = TRAILER.exec(s); m; m = TRAILER.exec(s)) {
      if (m[0] !== ' ') replyOrForward = true
      s = s.slice(0, -m[0].length)
    }
    // (3)-(5) leaders, and a leading blob when something is left after it
    for (let changed = true; changed; ) {
      changed = false
      for (let m = LEADER.exec(s); m; m = LEADER.exec(s)) {
        if (m[1]) replyOrForward = true
        s = s.slice(m[0].length)
        changed = true
      }
      const blob = BLOB.exec(s)
      if (blob && /[^ ]/.test(s.slice(blob[0].length))) {
        s = s.slice(blob[0].length)
        changed = true
      }
    }
    // (6) "[fwd: subject]": unwrap and start again
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      s = s.slice(5, -1)
      replyOrForward = true
      continue
    }
    return {text: s, replyOrForward}
  }
}

/**
 * i;unicode-casemap (RFC 5051), which RFC 5256 names for SORT and THREAD and Dovecot uses:
 * each character's title case (upper case here), then NFKD, so "Élise" sorts with "E". On
 * ASCII text it is i;ascii-casemap (a-z as A-Z).
 */
export function casemap(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s.toUpperCase() : s.toUpperCase().normalize('NFKD')
}
