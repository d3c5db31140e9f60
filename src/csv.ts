/**
 * CSV as RFC 4180 writes it: comma-separated fields, a field in double quotes may hold commas,
 * line breaks and `""` (one quote). Records end at LF or CRLF outside quotes; blank lines are
 * skipped. Each record keeps the line number it starts on, so an error can point at it.
 *
 * One pass over the text, no backtracking: time and memory are linear in the input, whose size
 * the caller bounds. A malformed record (text after a closing quote, a quote left open at the
 * end) carries an `error` and parsing goes on, so every bad record can be reported at once.
 */
export interface CsvRecord {
  /** 1-based line number of the record's first character */
  line: number
  fields: string[]
  /** why the record is malformed (its fields are then unreliable) */
  error?: string
}

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = []
  let fields: string[] = []
  let field = ''
  let quoted = false
  /** the current field began with a quote (a quote inside an unquoted field is kept as text) */
  let wasQuoted = false
  let line = 1
  let recordLine = 1
  let error: string | undefined
  const endRecord = () => {
    fields.push(field)
    // a blank line is one empty unquoted field: no record
    if (fields.length > 1 || fields[0] !== '' || wasQuoted) records.push({line: recordLine, fields, ...(error ? {error} : {})})
    fields = []
    field = ''
    wasQuoted = false
    error = undefined
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else {
        if (ch === '\n') line++
        field += ch
      }
    } else if (ch === '"' && field === '' && !wasQuoted) {
      quoted = wasQuoted = true
    } else if (ch === ',') {
      fields.push(field)
      field = ''
      wasQuoted = false
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++
      endRecord()
      line++
      recordLine = line
    } else {
      if (wasQuoted) error ??= 'text after a closing quote (write a quote inside a quoted field as "")'
      field += ch
    }
  }
  if (quoted) error = 'a quoted field is not closed'
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord()
  return records
}

/** One field, quoted only when it has to be (a comma, a quote, a line break, or edge spaces). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

export const csvLine = (fields: string[]): string => fields.map(csvField).join(',') + '\n'
