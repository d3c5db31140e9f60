/**
 * The user file of `user import` and `user export`: one user a line, as CSV or JSON Lines.
 *
 * CSV has a header row naming its columns, in any order: `address` (required), `password`,
 * `password_hash` (an argon2id PHC string), `quota` (bytes or a size such as 2G; 0 = unlimited),
 * `max_messages` (how many messages the user's folders may hold together; 0 = unlimited),
 * `aliases` (addresses that forward to the user, separated by spaces or `;`), `disabled`
 * (true/false). JSON Lines has one object a line with the keys `address`, `password`,
 * `passwordHash`, `quota` (number or size string), `maxMessages` (number), `aliases` (array),
 * `disabled` (boolean).
 *
 * This module only reads and writes the shape; what the values mean is checked by
 * user-import.ts. Every problem carries the line and the field it is about, so that all of
 * them can be reported in one go.
 */
import {csvLine, parseCsv} from '../csv.js'

export type UserFileFormat = 'csv' | 'jsonl'
export const USER_FILE_FORMATS: readonly UserFileFormat[] = ['csv', 'jsonl']

/** One line of a user file, values as written (not yet normalized or checked). */
export interface UserEntry {
  line: number
  address: string
  password?: string
  passwordHash?: string
  /** bytes, or a size string for parseSize */
  quota?: number | string
  /** a count, as written */
  maxMessages?: number | string
  aliases: string[]
  disabled?: boolean
}

export type UserField = 'address' | 'password' | 'passwordHash' | 'quota' | 'maxMessages' | 'aliases' | 'disabled'

export interface LineProblem {
  line: number
  /** the field as the file names it (`password_hash` in CSV, `passwordHash` in JSON Lines); absent: the whole line */
  field?: string
  message: string
}

export interface ParsedUserFile {
  format: UserFileFormat
  entries: UserEntry[]
  problems: LineProblem[]
}

const CSV_COLUMNS: Record<string, UserField> = {
  address: 'address',
  password: 'password',
  password_hash: 'passwordHash',
  quota: 'quota',
  max_messages: 'maxMessages',
  aliases: 'aliases',
  disabled: 'disabled',
}

/** how a field is named in each format, for messages */
export function fieldName(format: UserFileFormat, field: UserField): string {
  return format === 'csv' ? (Object.keys(CSV_COLUMNS).find((k) => CSV_COLUMNS[k] === field) ?? field) : field
}

/** The format of a file given without `--format`: by its name's extension, else by its first character (`{`: JSON Lines). */
export function detectFormat(text: string, fileName?: string): UserFileFormat {
  const ext = /\.([a-z]+)$/i.exec(fileName ?? '')?.[1]?.toLowerCase()
  if (ext === 'csv') return 'csv'
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl'
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv'
}

export function parseUserFile(text: string, format: UserFileFormat): ParsedUserFile {
  const body = text.replace(/^\uFEFF/, '')
  return {format, ...(format === 'csv' ? parseCsvUsers(body) : parseJsonlUsers(body))}
}

const splitAliases = (value: string): string[] => value.split(/[\s;]+/).filter(Boolean)

const BOOLEANS: Record<string, boolean> = {true: true, yes: true, '1': true, false: false, no: false, '0': false}

function parseCsvUsers(text: string): {entries: UserEntry[]; problems: LineProblem[]} {
  const [header, ...records] = parseCsv(text)
  const problems: LineProblem[] = []
  if (!header) return {entries: [], problems: [{line: 1, message: 'empty file: a CSV user file starts with a header row (address,password,…)'}]}
  const names = header.fields.map((f) => f.trim().toLowerCase())
  const columns = names.map((name) => CSV_COLUMNS[name])
  names.forEach((name, i) => {
    if (!columns[i]) problems.push({line: header.line, message: `unknown column ${JSON.stringify(name)} (known: ${Object.keys(CSV_COLUMNS).join(', ')})`})
    else if (names.indexOf(name) !== i) problems.push({line: header.line, message: `column ${name} appears twice`})
  })
  if (!names.includes('address')) problems.push({line: header.line, message: 'no address column in the header row'})
  if (header.error) problems.push({line: header.line, message: header.error})
  if (problems.length) return {entries: [], problems}

  const entries: UserEntry[] = []
  for (const record of records) {
    if (record.error) {
      problems.push({line: record.line, message: record.error})
      continue
    }
    if (record.fields.length !== columns.length) {
      problems.push({line: record.line, message: `${record.fields.length} field(s) where the header has ${columns.length}`})
      continue
    }
    const entry: UserEntry = {line: record.line, address: '', aliases: []}
    record.fields.forEach((raw, i) => {
      const field = columns[i]!
      // a password is taken exactly as written; around anything else, spaces mean nothing
      const value = field === 'password' ? raw : raw.trim()
      if (value === '') return // an empty cell: not given
      if (field === 'aliases') entry.aliases = splitAliases(value)
      else if (field === 'disabled') {
        const flag = BOOLEANS[value.toLowerCase()]
        if (flag === undefined) problems.push({line: record.line, field: 'disabled', message: `${JSON.stringify(value)} is not true or false`})
        else entry.disabled = flag
      } else entry[field] = value
    })
    entries.push(entry)
  }
  return {entries, problems}
}

function parseJsonlUsers(text: string): {entries: UserEntry[]; problems: LineProblem[]} {
  const entries: UserEntry[] = []
  const problems: LineProblem[] = []
  text.split('\n').forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (err) {
      problems.push({line, message: `not JSON: ${(err as Error).message}`})
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({line, message: 'not a JSON object'})
      return
    }
    const {entry, problems: own} = jsonEntry(line, value as Record<string, unknown>)
    problems.push(...own)
    if (entry) entries.push(entry)
  })
  return {entries, problems}
}

const JSON_TYPES: Record<UserField, string> = {
  address: 'a string',
  password: 'a string',
  passwordHash: 'a string',
  quota: 'a number of bytes or a size string',
  maxMessages: 'a number',
  aliases: 'an array of strings',
  disabled: 'true or false',
}

function jsonEntry(line: number, object: Record<string, unknown>): {entry?: UserEntry; problems: LineProblem[]} {
  const problems: LineProblem[] = []
  const entry: UserEntry = {line, address: '', aliases: []}
  for (const [key, value] of Object.entries(object)) {
    if (!Object.hasOwn(JSON_TYPES, key)) {
      problems.push({line, field: key, message: `unknown key (known: ${Object.keys(JSON_TYPES).join(', ')})`})
      continue
    }
    const field = key as UserField
    if (value === null || value === undefined || value === '') continue // not given
    const typed =
      field === 'quota'
        ? typeof value === 'number' || typeof value === 'string'
        : field === 'maxMessages'
          ? typeof value === 'number'
          : field === 'aliases'
          ? Array.isArray(value) && value.every((a) => typeof a === 'string')
          : typeof value === (field === 'disabled' ? 'boolean' : 'string')
    if (!typed) {
      problems.push({line, field, message: `must be ${JSON_TYPES[field]}`})
      continue
    }
    if (field === 'aliases') entry.aliases = (value as string[]).flatMap(splitAliases)
    else if (field === 'disabled') entry.disabled = value as boolean
    else if (field === 'quota') entry.quota = value as number | string
    else if (field === 'maxMessages') entry.maxMessages = value as number
    else entry[field] = value as string
  }
  return {entry: problems.length ? undefined : entry, problems}
}

/** What `user export` writes of one user. */
export interface ExportedUser {
  address: string
  passwordHash?: string
  quota: number
  maxMessages: number
  aliases: string[]
  disabled: boolean
}

/** The file text for `users`: a header row first in CSV; `passwordHash` only where it is set. */
export function formatUserFile(users: ExportedUser[], format: UserFileFormat, withHashes: boolean): string {
  if (format === 'jsonl') {
    return users.map((u) => JSON.stringify({address: u.address, ...(withHashes ? {passwordHash: u.passwordHash} : {}), quota: u.quota, maxMessages: u.maxMessages, aliases: u.aliases, disabled: u.disabled}) + '\n').join('')
  }
  const header = ['address', ...(withHashes ? ['password_hash'] : []), 'quota', 'max_messages', 'aliases', 'disabled']
  const rows = users.map((u) => csvLine([u.address, ...(withHashes ? [u.passwordHash ?? ''] : []), String(u.quota), String(u.maxMessages), u.aliases.join(' '), String(u.disabled)]))
  return csvLine(header) + rows.join('')
}
