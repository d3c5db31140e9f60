/**
 * DKIM checks for the outbound suites: the DKIM-Signature fields of a received message, the TXT
 * records `mailbox dkim list --json` says to publish, and Debian's dkimpy (python3-dkim) as the
 * independent verifier, its DNS lookups answered from those records.
 */
import {runJson} from '../helpers/cli.js'
import {pythonWith} from '../helpers/ci.js'
import {headerFields, runPython} from './smtp-helpers.js'

/** the system python3 with dkimpy, if any */
export const DKIMPY = pythonWith('dkim')

export interface SignatureTags {
  [tag: string]: string
}

/** the tags of each DKIM-Signature field, top to bottom (whitespace removed, as in tag values) */
export function dkimSignatures(raw: string): SignatureTags[] {
  return headerFields(raw)
    .filter((f) => /^DKIM-Signature:/i.test(f))
    .map((f) =>
      Object.fromEntries(
        f
          .slice(f.indexOf(':') + 1)
          .split(';')
          .map((t) => t.replace(/\s+/g, ''))
          .filter(Boolean)
          .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]),
      ),
    )
}

/** every DKIM TXT record the data dir's keys publish, name → value (active and retired) */
export async function dkimRecords(dataDir: string): Promise<Record<string, string>> {
  const keys = await runJson<{dns: {name: string; value: string}}[]>(['dkim', 'list'], {dataDir})
  return Object.fromEntries(keys.map((k) => [k.dns.name, k.dns.value]))
}

const VERIFY = `
import dkim, json, sys
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip('.'), '').encode()
d = dkim.DKIM(message)
count = len([l for l in message.split(b'\\r\\n\\r\\n')[0].split(b'\\r\\n') if l.lower().startswith(b'dkim-signature:')])
def verify(i):
    try:
        return bool(d.verify(idx=i, dnsfunc=dnsfunc))
    except dkim.DKIMException:  # a body hash mismatch is raised, not returned
        return False
print(json.dumps([verify(i) for i in range(count)]))
`

/** dkimpy's verdict on each DKIM-Signature of `raw`, top to bottom */
export function dkimpyVerify(raw: string | Buffer, records: Record<string, string>): Promise<boolean[]> {
  if (!DKIMPY) throw new Error('python3-dkim (dkimpy) is not installed: apt-get install python3-dkim')
  return runPython<boolean[]>(VERIFY, [JSON.stringify(records)], {python: DKIMPY, input: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw})
}
