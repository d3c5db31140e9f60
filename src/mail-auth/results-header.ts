/**
 * The Authentication-Results field (RFC 8601) under our authserv-id: written by the verifier
 * thread (./verify.ts) and by the SMTP front-end for what it decides without one (./actor.ts).
 * Its own module so that the front-end, which every `serve` loads, does not load mailauth (and
 * its BIMI stack, ~400 CommonJS files): only the verifier thread needs that.
 */
import type Libmime from 'libmime'
import {lazyRequire} from '../lazy-require.js'

/** loaded at the first header written (see ../lazy-require.ts): libmime's charset tables are no part of serve's start */
let libmime: typeof Libmime | undefined

/** RFC 8601 §2.2: `Authentication-Results: authserv-id; method=result …; …`, folded, one CRLF at the end */
export function resultsHeader(authservId: string, rows: string[]): string {
  // a row quotes what the message said (header.from …): no line breaks may come through from it
  const clean = rows.map((row) => row.replace(/[\r\n\t]+/g, ' ').replace(/[\x00-\x1f\x7f]/g, ''))
  const mime = (libmime ??= lazyRequire<typeof Libmime>('libmime'))
  return `Authentication-Results: ${authservId};\r\n ` + clean.map((row) => mime.foldLines(row, 160)).join(';\r\n ') + '\r\n'
}
