/**
 * `mailbox domain check`: looks up every record `domain dns` prints (records of one name and type
 * together, all at once, each lookup time-limited) and judges what it finds (compare.ts). The
 * outcome: `ok` when every required record is ok or only warned about; `failed` when one is
 * missing or different; `incomplete` when lookups of required records failed and nothing failed
 * for sure; `unreachable` when no lookup got any answer (the DNS server is down or unreachable).
 */
import {dmarcReportAddress, type DnsRecord, type RecordKind, type RecordSetup, type RecordType} from './records.js'
import {compareAddresses, compareDkim, compareDmarc, compareMtaSts, compareMtaStsHost, compareMx, compareSpf, compareSrv, compareTlsRpt, withReportAddresses, type Verdict} from './compare.js'
import {NO_ANSWER_CODES, type DnsLookup, type Lookup} from './lookup.js'
import {isSpfRecord} from './spf.js'

export type CheckStatus = Verdict['status'] | 'error'

export interface CheckResult {
  name: string
  /** `A/AAAA`: the host's addresses were not given, so any address of either family will do */
  type: RecordType | 'A/AAAA'
  kind: RecordKind
  purpose: string
  required: boolean
  status: CheckStatus
  /** the values `domain dns` prints for this name and type */
  expected: string[]
  /** what DNS answered (for SPF only the SPF records of the name) */
  found: string[]
  note?: string
  /** status `error`: the lookup's failure, e.g. ETIMEOUT, ESERVFAIL */
  error?: string
}

export type CheckOutcome = 'ok' | 'failed' | 'incomplete' | 'unreachable'

/** `domain check`'s exit codes: every required record ok; one missing or different (or an error); DNS did not answer (EX_TEMPFAIL: try again) */
export const CHECK_EXIT = {ok: 0, failed: 1, tempfail: 75} as const

export interface CheckReport {
  domain: string
  hostname: string
  dnsServers: string
  outcome: CheckOutcome
  results: CheckResult[]
}

type Expectation = Omit<CheckResult, 'status' | 'found' | 'note' | 'error'>

/** the records grouped by name and type (several A records are one answer) */
function expectationsOf(records: DnsRecord[], setup: RecordSetup): Expectation[] {
  const groups = new Map<string, Expectation>()
  for (const record of records) {
    const key = `${record.name} ${record.type}`
    const group = groups.get(key)
    if (group) {
      group.expected.push(record.value)
      group.required ||= record.required
    } else {
      groups.set(key, {name: record.name, type: record.type, kind: record.kind, purpose: record.purpose, required: record.required, expected: [record.value]})
    }
  }
  const expectations = [...groups.values()]
  if (!records.some((r) => r.kind === 'address')) {
    // no addresses given: the host must still have one, whichever it is
    expectations.splice(1, 0, {name: setup.hostname, type: 'A/AAAA', kind: 'address', purpose: "the host's address", required: true, expected: []})
  }
  return expectations
}

interface Judged {
  verdict: Verdict
  found: string[]
}

/** a name's A and AAAA records together, or the first failure */
async function addressesOf(dns: DnsLookup, name: string): Promise<Lookup<string>> {
  const lookups = await Promise.all([dns.a(name), dns.aaaa(name)])
  return lookups.find((l) => !l.ok) ?? {ok: true, values: lookups.flatMap((l) => (l.ok ? l.values : []))}
}

async function judge(e: Expectation, setup: RecordSetup, dns: DnsLookup): Promise<Judged | {code: string}> {
  const expected = e.expected[0] ?? ''
  const textual = async (compare: (found: string[]) => Verdict, shown: (text: string) => boolean = () => true) => {
    const found = await dns.txt(e.name)
    if (!found.ok) return found
    const relevant = found.values.filter(shown)
    return {verdict: compare(relevant), found: relevant}
  }
  switch (e.kind) {
    case 'mx': {
      const found = await dns.mx(e.name)
      if (!found.ok) return found
      return {verdict: compareMx(found.values, setup.hostname), found: found.values.map((mx) => `${mx.priority} ${mx.exchange || ''}.`)}
    }
    case 'address': {
      const found = e.type === 'A' ? await dns.a(e.name) : e.type === 'AAAA' ? await dns.aaaa(e.name) : await addressesOf(dns, e.name)
      if (!found.ok) return found
      return {verdict: compareAddresses(found.values, e.expected), found: found.values}
    }
    case 'spf':
      return textual((found) => compareSpf(found, {owner: e.name, domain: setup.domain, hostname: setup.hostname, addresses: setup.addresses}, expected), isSpfRecord)
    case 'dkim':
      return textual((found) => compareDkim(found, expected))
    case 'dmarc':
      return textual((found) => withReportAddresses(compareDmarc(found, `mailto:${dmarcReportAddress(setup.domain)}`), found, setup.unknownReportAddresses))
    case 'mta-sts':
      return textual((found) => compareMtaSts(found, expected))
    case 'tls-rpt':
      return textual((found) => withReportAddresses(compareTlsRpt(found, expected), found, setup.unknownReportAddresses))
    case 'mta-sts-host':
    case 'autoconfig-host': {
      const cnames = await dns.cname(e.name)
      if (!cnames.ok) return cnames
      const addresses = cnames.values.length ? {ok: true as const, values: []} : await addressesOf(dns, e.name)
      if (!addresses.ok) return addresses
      const what = e.kind === 'mta-sts-host' ? 'the policy' : "Thunderbird's autoconfig document"
      return {verdict: compareMtaStsHost(cnames.values, addresses.values, setup.hostname, what), found: [...cnames.values.map((c) => `${c}.`), ...addresses.values]}
    }
    case 'srv': {
      const found = await dns.srv(e.name)
      if (!found.ok) return found
      return {verdict: compareSrv(found.values, expected), found: found.values.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name || ''}.`)}
    }
  }
}

export function outcomeOf(results: CheckResult[]): CheckOutcome {
  if (results.length && results.every((r) => r.error && NO_ANSWER_CODES.has(r.error))) return 'unreachable'
  const required = results.filter((r) => r.required)
  if (required.some((r) => r.status === 'missing' || r.status === 'different')) return 'failed'
  if (required.some((r) => r.status === 'error')) return 'incomplete'
  return 'ok'
}

export async function checkRecords(records: DnsRecord[], setup: RecordSetup, dns: DnsLookup): Promise<CheckReport> {
  const results = await Promise.all(
    expectationsOf(records, setup).map(async (e): Promise<CheckResult> => {
      const judged = await judge(e, setup, dns)
      if ('code' in judged) return {...e, status: 'error', found: [], note: `lookup failed: ${judged.code}`, error: judged.code}
      return {...e, status: judged.verdict.status, found: judged.found, ...(judged.verdict.note ? {note: judged.verdict.note} : {})}
    }),
  )
  return {domain: setup.domain, hostname: setup.hostname, dnsServers: dns.describe(), outcome: outcomeOf(results), results}
}
