/** `domain check`'s human output: one line per record, and for each one not ok what was found and expected. */
import {formatTable} from '../cli/table.js'
import type {CheckReport, CheckResult} from './check.js'

/** long values (an RSA key) cut for the terminal; --json has them whole */
const MAX_SHOWN = 100
const shown = (value: string) => (value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 1)}…` : value)

/** `  found:   v`, continued lines indented under the first value */
const labelled = (label: string, values: string[]) => values.map((v, i) => `  ${(i ? '' : label).padEnd(10)}${shown(v)}`)

function details(r: CheckResult): string[] {
  const lines = r.status === 'ok' ? [] : [...labelled('found:', r.found), ...labelled('expected:', r.expected)]
  if (r.note) lines.push(`  ${r.note}`)
  return lines
}

export function renderCheck(report: CheckReport): string {
  const table = formatTable(report.results, [
    {header: 'status', get: (r) => r.status},
    {header: 'type', get: (r) => r.type},
    {header: 'name', get: (r) => r.name},
    {header: 'purpose', get: (r) => `${r.purpose}${r.required ? '' : ' (recommended)'}`},
  ]).split('\n')
  const lines = [table[0]!]
  report.results.forEach((r, i) => lines.push(table[i + 1]!, ...details(r)))
  const required = report.results.filter((r) => r.required)
  const notOk = required.filter((r) => r.status !== 'ok' && r.status !== 'warning')
  const warnings = report.results.filter((r) => r.status === 'warning').length
  const summary =
    report.outcome === 'ok'
      ? `all ${required.length} required records are ok${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`
      : report.outcome === 'failed'
        ? `${notOk.filter((r) => r.status !== 'error').length} of ${required.length} required records are missing or different: publish what \`mailbox domain dns ${report.domain}\` prints`
        : `lookups failed for ${notOk.length} of ${required.length} required records: try again`
  return [...lines, '', `${summary} (asked ${report.dnsServers})`].join('\n')
}
