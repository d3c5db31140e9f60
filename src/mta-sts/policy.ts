/**
 * MTA-STS policies (RFC 8461): the policy text served at
 * `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` and the `_mta-sts.DOMAIN` TXT record that
 * announces it, both parsed strictly by their grammar (§3.1, §3.2), and the matching of an MX
 * host against the policy's `mx` patterns (§4.1). Pure functions: the same code reads remote
 * policies (./policies.ts) and checks the one this server serves (./served.ts).
 */

export type StsMode = 'enforce' | 'testing' | 'none'

export interface StsPolicy {
  mode: StsMode
  /** the `mx` patterns, lower-case, without a trailing dot: `mx.example.com`, `*.example.net` */
  mx: string[]
  /** seconds (RFC 8461 §3.2: at most 31557600) */
  maxAge: number
}

/** RFC 8461 §3.2: max_age is at most a year */
export const MAX_MAX_AGE = 31_557_600

export class StsPolicyError extends Error {}

// RFC 8461 §3.2: sts-policy-ext-name, and the value: VCHAR (or UTF-8) words with WSP between
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/
const EXT_VALUE = /^[\x21-\x7e\u0080-\u{10ffff}]+(?:[ \t]*[\x21-\x7e\u0080-\u{10ffff}]+)*$/u
// sts-policy-mx-value: ["*."] Domain (RFC 5321 sub-domains: letters, digits, hyphens; "_" tolerated as in DNS)
const MX_PATTERN = /^(?:\*\.)?(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$/

/**
 * Reads a policy body (§3.2): `key: value` lines ended by CRLF or LF; `version: STSv1`, `mode`
 * and `max_age` required (the first of each counts), `mx` repeatable and required unless the
 * mode is `none`; unknown fields must be well formed and are ignored. Throws StsPolicyError
 * saying what is wrong.
 *
 * Two leniencies, because an unreadable policy counts as no policy, which for an `enforce`
 * policy is a downgrade to plaintext: the grammar's names and keywords (`version`, `STSv1`,
 * `mode`, `enforce`, …) are ABNF literals, case-insensitive by RFC 5234 §2.3, so `mode: Enforce`
 * is read as written; and blank lines, which the grammar lacks but hand-written files have, are
 * skipped.
 */
export function parseStsPolicy(text: string): StsPolicy {
  // sts-policy-term-delim ends each field; the last may lack one
  const lines = text.split(/\r?\n/)
  if (!lines.some((line) => line !== '')) throw new StsPolicyError('the policy is empty')
  const first = new Map<string, string>()
  const mx: string[] = []
  for (const [i, line] of lines.entries()) {
    if (line === '') continue
    const m = /^([^:]*):[ \t]*(.*?)[ \t]*$/.exec(line)
    if (!m) throw new StsPolicyError(`line ${i + 1} is not "name: value"`)
    const [, written, value] = m as unknown as [string, string, string]
    if (!EXT_NAME.test(written)) throw new StsPolicyError(`line ${i + 1}: invalid field name ${JSON.stringify(written)}`)
    const name = written.toLowerCase()
    if (!EXT_VALUE.test(value)) throw new StsPolicyError(`line ${i + 1}: invalid value for ${name}`)
    if (name === 'mx') {
      if (!MX_PATTERN.test(value)) throw new StsPolicyError(`invalid mx ${JSON.stringify(value)}`)
      mx.push(value.toLowerCase().replace(/\.$/, ''))
    } else if (!first.has(name)) first.set(name, value)
  }
  const version = first.get('version')
  if (version?.toLowerCase() !== 'stsv1') throw new StsPolicyError(version === undefined ? 'no version field' : `unknown version ${JSON.stringify(version)}`)
  const mode = first.get('mode')?.toLowerCase()
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') throw new StsPolicyError(mode === undefined ? 'no mode field' : `unknown mode ${JSON.stringify(mode)}`)
  const age = first.get('max_age')
  if (age === undefined) throw new StsPolicyError('no max_age field')
  if (!/^\d{1,10}$/.test(age)) throw new StsPolicyError(`invalid max_age ${JSON.stringify(age)}`)
  if (mode !== 'none' && !mx.length) throw new StsPolicyError(`mode ${mode} without an mx field`)
  // a larger value is taken as the largest allowed rather than dropping the whole policy
  return {mode, mx, maxAge: Math.min(Number(age), MAX_MAX_AGE)}
}

/** The policy text this server writes: CRLF lines, in the order of RFC 8461's examples. */
export function formatStsPolicy(policy: StsPolicy): string {
  return ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((mx) => `mx: ${mx}`), `max_age: ${policy.maxAge}`].map((line) => `${line}\r\n`).join('')
}

/** whether `value` is a well-formed mx pattern (config check) */
export const isMxPattern = (value: string): boolean => MX_PATTERN.test(value)

/**
 * RFC 8461 §4.1: `host` matches a pattern equal to it, or `*.rest` when host is one label
 * followed by `.rest` (a wildcard covers exactly one label). Case-insensitive; trailing dots ignored.
 */
export function mxMatches(patterns: readonly string[], host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase().replace(/\.$/, '')
    if (!p.startsWith('*.')) return p === name
    const dot = name.indexOf('.')
    return dot > 0 && name.slice(dot + 1) === p.slice(2)
  })
}

/**
 * The `_mta-sts` TXT record (§3.1): of the strings (each record's character-strings joined),
 * those starting `v=STSv1`; exactly one must, with `id=` 1-32 letters and digits. Returns the
 * id, or undefined when there is no usable record (none, several, or malformed: §3.1 says to
 * treat those as no policy).
 */
export function parseStsRecord(records: readonly string[]): string | undefined {
  const sts = records.filter((r) => /^v=STSv1(?:[ \t]*;|$)/.test(r))
  if (sts.length !== 1) return undefined
  const fields = sts[0]!.split(';').map((f) => f.trim())
  if (fields.at(-1) === '') fields.pop()
  let id: string | undefined
  for (const field of fields.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=(.*)$/.exec(field)
    if (!m) return undefined
    if (m[1] === 'id') {
      if (id !== undefined || !/^[A-Za-z0-9]{1,32}$/.test(m[2]!)) return undefined
      id = m[2]
    }
  }
  return id
}
