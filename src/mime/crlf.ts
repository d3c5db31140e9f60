/**
 * A message's size in its CRLF form — every line ending CRLF, the last one included — which is
 * the size POP3 reports (RFC 1939 §11) and what a message becomes on any SMTP or POP3 wire.
 * Computed at delivery, so POP3's STAT and LIST never read message bodies.
 */
const LF = 0x0a
const CR = 0x0d
const CRLF = Buffer.from('\r\n')

export interface CrlfInfo {
  /** octets of the CRLF form, final CRLF included */
  size: number
  /** some line ends in a lone LF (so sending it means rewriting it) */
  bareLf: boolean
}

/** what has to follow the bytes so the last line ends in CRLF */
export function tailOf(raw: Buffer): Buffer | undefined {
  if (raw.length === 0 || raw[raw.length - 1] === LF) return undefined
  return raw[raw.length - 1] === CR ? CRLF.subarray(1) : CRLF
}

export function crlfInfo(raw: Buffer): CrlfInfo {
  let bare = 0
  for (let i = raw.indexOf(LF); i !== -1; i = raw.indexOf(LF, i + 1)) {
    if (i === 0 || raw[i - 1] !== CR) bare++
  }
  return {size: raw.length + bare + (tailOf(raw)?.length ?? 0), bareLf: bare > 0}
}

/**
 * crlfInfo of `raw` when its CRLF size is known already (recorded at delivery, see POP3's
 * STAT): what the size adds to the bytes is the bare LFs' CRs and the tail, so no scan of the
 * bytes is needed (the per-line scan was a good part of a POP3 RETR). A size that cannot be
 * right for these bytes is ignored.
 */
export function crlfInfoOfSize(raw: Buffer, size: number | undefined): CrlfInfo {
  const base = raw.length + (tailOf(raw)?.length ?? 0)
  if (size === undefined || size < base) return crlfInfo(raw)
  return {size, bareLf: size > base}
}
