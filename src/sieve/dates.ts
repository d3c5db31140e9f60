/**
 * Date parts (RFC 5260 §4.2) of an instant seen in a time zone, and the parsing of Date-style
 * header fields (RFC 5322 §3.3, with the obsolete zone names) that the date test needs.
 */

const NAMED_ZONES: Record<string, number> = {UT: 0, UTC: 0, GMT: 0, Z: 0, EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420}
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

export interface ZonedTime {
  /** milliseconds since the epoch */
  time: number
  /** the zone's offset from UTC, in minutes */
  offset: number
}

/** "+0130" → 90 */
export function parseZone(zone: string): number | undefined {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(zone.trim())
  if (!m) return undefined
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
}

export function parseDateHeader(value: string): ZonedTime | undefined {
  const text = value.replace(/\([^()]*\)/g, ' ').trim()
  const time = Date.parse(text)
  if (Number.isNaN(time)) return undefined
  const numeric = /([+-]\d{4})\s*$/.exec(text)
  const named = /\b([A-Z]{1,3})\s*$/i.exec(text)
  const offset = numeric ? parseZone(numeric[1]!) : named ? (NAMED_ZONES[named[1]!.toUpperCase()] ?? 0) : 0
  return {time, offset: offset ?? 0}
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

export function formatZone(offset: number): string {
  const a = Math.abs(offset)
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${pad(a % 60)}`
}

export function datePart(at: ZonedTime, part: string): string | undefined {
  const d = new Date(at.time + at.offset * 60_000)
  const [y, mo, day, h, mi, s] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
  const zone = formatZone(at.offset)
  switch (part.toLowerCase()) {
    case 'year':
      return pad(y, 4)
    case 'month':
      return pad(mo)
    case 'day':
      return pad(day)
    case 'date':
      return `${pad(y, 4)}-${pad(mo)}-${pad(day)}`
    case 'julian':
      // the Modified Julian Day: days since 1858-11-17
      return String(Math.floor((at.time + at.offset * 60_000) / 86_400_000) + 40587)
    case 'hour':
      return pad(h)
    case 'minute':
      return pad(mi)
    case 'second':
      return pad(s)
    case 'time':
      return `${pad(h)}:${pad(mi)}:${pad(s)}`
    case 'iso8601':
      return `${pad(y, 4)}-${pad(mo)}-${pad(day)}T${pad(h)}:${pad(mi)}:${pad(s)}${zone.slice(0, 3)}:${zone.slice(3)}`
    case 'std11':
      return `${DAYS[d.getUTCDay()]}, ${pad(day)} ${MONTHS[mo - 1]} ${pad(y, 4)} ${pad(h)}:${pad(mi)}:${pad(s)} ${zone}`
    case 'zone':
      return zone
    case 'weekday':
      return String(d.getUTCDay())
    default:
      return undefined
  }
}

/** the local zone's offset at that instant (RFC 5260: the default when no zone is given) */
export const localOffset = (time: number) => -new Date(time).getTimezoneOffset()
