/**
 * What each command and test accepts (RFC 5228 and the extensions in SIEVE_CAPABILITIES), checked
 * once when a script is stored: every extension used must be required, tags must belong to their
 * command and not conflict, arguments must have the right kind and count, comparators, relations,
 * date parts and regular expressions must be known or compile. The result is a tree the
 * interpreter runs without further checks (./interpreter.ts).
 */
import type {Argument, CommandNode, Position, TestNode} from './parser.js'
import {compileRegex, COMPARATORS, DATE_PARTS, RELATIONS} from './match.js'
import type {SieveLimits} from './limits.js'

/** RFC 5804 SIEVE capability list, in the order ManageSieve announces it */
export const SIEVE_CAPABILITIES = [
  'fileinto',
  'reject',
  'ereject',
  'envelope',
  'body',
  'imap4flags',
  'variables',
  'relational',
  'subaddress',
  'date',
  'vacation',
  'vacation-seconds',
  'copy',
  'mailbox',
  'regex',
  'encoded-character',
  'comparator-i;ascii-numeric',
  'comparator-i;octet',
  'comparator-i;ascii-casemap',
] as const

export interface SieveError extends Position {
  message: string
}

type ArgType = 'string' | 'list' | 'number'

interface TagSpec {
  ext?: string
  arg?: ArgType
  /** tags of one group exclude each other */
  group?: string
}

interface Spec {
  ext?: string
  tags?: Record<string, TagSpec>
  args: ArgType[]
  /** how many leading arguments may be left out (setflag's and hasflag's variable name) */
  optionalLeading?: number
  tests?: 'none' | 'one' | 'list'
  block?: boolean
  /** takes :comparator and a match type */
  matching?: boolean
}

const MATCH_TAGS: Record<string, TagSpec> = {
  comparator: {arg: 'string'},
  is: {group: 'match'},
  contains: {group: 'match'},
  matches: {group: 'match'},
  regex: {group: 'match', ext: 'regex'},
  count: {group: 'match', ext: 'relational', arg: 'string'},
  value: {group: 'match', ext: 'relational', arg: 'string'},
}

const ADDRESS_PARTS: Record<string, TagSpec> = {
  all: {group: 'part'},
  localpart: {group: 'part'},
  domain: {group: 'part'},
  user: {group: 'part', ext: 'subaddress'},
  detail: {group: 'part', ext: 'subaddress'},
}

const FLAGS_TAG: Record<string, TagSpec> = {flags: {ext: 'imap4flags', arg: 'list'}}

const COMMANDS: Record<string, Spec> = {
  require: {args: ['list']},
  if: {args: [], tests: 'one', block: true},
  elsif: {args: [], tests: 'one', block: true},
  else: {args: [], block: true},
  stop: {args: []},
  keep: {args: [], tags: FLAGS_TAG},
  discard: {args: []},
  redirect: {args: ['string'], tags: {copy: {ext: 'copy'}}},
  fileinto: {ext: 'fileinto', args: ['string'], tags: {copy: {ext: 'copy'}, create: {ext: 'mailbox'}, ...FLAGS_TAG}},
  reject: {ext: 'reject', args: ['string']},
  ereject: {ext: 'ereject', args: ['string']},
  vacation: {
    ext: 'vacation',
    args: ['string'],
    tags: {
      days: {arg: 'number', group: 'period'},
      seconds: {arg: 'number', group: 'period', ext: 'vacation-seconds'},
      subject: {arg: 'string'},
      from: {arg: 'string'},
      addresses: {arg: 'list'},
      mime: {},
      handle: {arg: 'string'},
    },
  },
  set: {
    ext: 'variables',
    args: ['string', 'string'],
    tags: {
      lower: {group: 'case'},
      upper: {group: 'case'},
      lowerfirst: {group: 'first'},
      upperfirst: {group: 'first'},
      quotewildcard: {group: 'quote'},
      quoteregex: {group: 'quote', ext: 'regex'},
      length: {group: 'length'},
    },
  },
  setflag: {ext: 'imap4flags', args: ['string', 'list'], optionalLeading: 1},
  addflag: {ext: 'imap4flags', args: ['string', 'list'], optionalLeading: 1},
  removeflag: {ext: 'imap4flags', args: ['string', 'list'], optionalLeading: 1},
}

const TESTS: Record<string, Spec> = {
  address: {args: ['list', 'list'], matching: true, tags: ADDRESS_PARTS},
  envelope: {ext: 'envelope', args: ['list', 'list'], matching: true, tags: ADDRESS_PARTS},
  header: {args: ['list', 'list'], matching: true},
  exists: {args: ['list']},
  size: {args: ['number'], tags: {over: {group: 'size'}, under: {group: 'size'}}},
  allof: {args: [], tests: 'list'},
  anyof: {args: [], tests: 'list'},
  not: {args: [], tests: 'one'},
  true: {args: []},
  false: {args: []},
  body: {ext: 'body', args: ['list'], matching: true, tags: {raw: {group: 'transform'}, content: {group: 'transform', arg: 'list'}, text: {group: 'transform'}}},
  hasflag: {ext: 'imap4flags', args: ['list', 'list'], optionalLeading: 1, matching: true},
  string: {ext: 'variables', args: ['list', 'list'], matching: true},
  date: {ext: 'date', args: ['string', 'string', 'list'], matching: true, tags: {zone: {arg: 'string', group: 'zone'}, originalzone: {group: 'zone'}}},
  mailboxexists: {ext: 'mailbox', args: ['list']},
  currentdate: {ext: 'date', args: ['string', 'list'], matching: true, tags: {zone: {arg: 'string', group: 'zone'}}},
}

/** a command or test after validation: tags apart from the positional arguments */
export interface Node extends Position {
  name: string
  /** tag name → its argument (undefined for a tag without one) */
  tags: Map<string, Argument | undefined>
  args: Argument[]
  tests: Node[]
  block?: Node[]
  /** for `if`: the elsif/else branches that follow it */
  branches?: Node[]
}

export interface Script {
  commands: Node[]
  /** the capabilities the script requires */
  requires: Set<string>
}

const VARIABLE_NAME = /^[a-z_][a-z0-9_]*$/i
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/

export function validate(tree: CommandNode[], limits: SieveLimits): {script: Script; errors: SieveError[]} {
  const errors: SieveError[] = []
  const requires = new Set<string>()
  const error = (at: Position, message: string) => {
    if (errors.length < limits.maxErrors) errors.push({line: at.line, column: at.column, message})
  }
  const needs = (at: Position, ext: string | undefined, what: string): void => {
    if (ext && !requires.has(ext)) error(at, `${what} needs the "${ext}" extension: add require "${ext}";`)
  }

  const checkArgs = (node: CommandNode | TestNode, spec: Spec, kind: string): Node => {
    const tags = new Map<string, Argument | undefined>()
    const groups = new Map<string, string>()
    const positional: Argument[] = []
    const allTags: Record<string, TagSpec> = {...(spec.matching ? MATCH_TAGS : {}), ...spec.tags}
    const args = node.args
    if (requires.has('encoded-character')) for (const a of args) decodeEncodedCharacters(a, error)
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a.kind !== 'tag') {
        positional.push(a)
        continue
      }
      if (positional.length) error(a, `the tag ":${a.name}" must come before the positional arguments of ${kind} "${node.name}"`)
      const tag = allTags[a.name]
      if (!tag) {
        error(a, `unknown tag ":${a.name}" for ${kind} "${node.name}"`)
        continue
      }
      needs(a, tag.ext, `the tag ":${a.name}"`)
      if (tags.has(a.name)) error(a, `the tag ":${a.name}" is given twice`)
      if (tag.group) {
        const other = groups.get(tag.group)
        if (other) error(a, `the tags ":${other}" and ":${a.name}" cannot be used together`)
        groups.set(tag.group, a.name)
      }
      let value: Argument | undefined
      if (tag.arg) {
        value = args[i + 1]
        if (!value || !fits(value, tag.arg)) {
          error(a, `the tag ":${a.name}" needs a ${describe(tag.arg)} after it`)
          value = undefined
        } else i++
      }
      tags.set(a.name, value)
    }
    const min = spec.args.length - (spec.optionalLeading ?? 0)
    if (positional.length < min || positional.length > spec.args.length) {
      const count = min === spec.args.length ? `${min}` : `${min} or ${spec.args.length}`
      error(node, `${kind} "${node.name}" takes ${count} positional argument${spec.args.length === 1 ? '' : 's'}, found ${positional.length}`)
    } else {
      const types = spec.args.slice(spec.args.length - positional.length)
      positional.forEach((p, i) => {
        if (!fits(p, types[i]!)) error(p, `argument ${i + 1} of ${kind} "${node.name}" must be a ${describe(types[i]!)}`)
      })
    }
    const wantTests = spec.tests ?? 'none'
    if (wantTests === 'none' && node.tests.length) error(node.tests[0]!, `${kind} "${node.name}" takes no test (a ";" is missing?)`)
    if (wantTests === 'one' && node.tests.length !== 1) error(node, `${kind} "${node.name}" needs exactly one test`)
    if (wantTests === 'list' && node.tests.length === 0) error(node, `${kind} "${node.name}" needs a list of tests in parentheses`)
    const out: Node = {name: node.name, tags, args: positional, tests: node.tests.map(checkTest), line: node.line, column: node.column}
    if (spec.matching) checkMatching(out)
    return out
  }

  const checkMatching = (node: Node) => {
    const comparatorArg = node.tags.get('comparator')
    const comparator = comparatorArg?.kind === 'string' ? comparatorArg.value.toLowerCase() : 'i;ascii-casemap'
    if (comparatorArg?.kind === 'string') {
      if (!COMPARATORS.has(comparator)) error(comparatorArg, `unknown comparator "${comparatorArg.value}"`)
      else if (comparator === 'i;ascii-numeric') needs(comparatorArg, 'comparator-i;ascii-numeric', 'the comparator "i;ascii-numeric"')
    }
    for (const rel of ['count', 'value']) {
      const r = node.tags.get(rel)
      if (r?.kind === 'string' && !RELATIONS.has(r.value.toLowerCase())) error(r, `unknown relation "${r.value}" (gt, ge, lt, le, eq or ne)`)
    }
    if (comparator === 'i;ascii-numeric' && (node.tags.has('contains') || node.tags.has('matches') || node.tags.has('regex'))) {
      error(node, 'the comparator "i;ascii-numeric" only supports :is, :count and :value')
    }
    if (node.tags.has('regex')) {
      const keys = node.args[node.args.length - 1]
      for (const key of keys ? stringsOf(keys) : []) {
        if (requires.has('variables') && key.includes('${')) continue // known only at run time
        const problem = compileRegex(key, comparator, limits).error
        if (problem) error(keys!, `invalid regular expression "${key}": ${problem}`)
      }
    }
  }

  const checkTest = (test: TestNode): Node => {
    const spec = TESTS[test.name]
    if (!spec) {
      error(test, COMMANDS[test.name] ? `"${test.name}" is a command, not a test` : `unknown test "${test.name}"`)
      return {name: 'false', tags: new Map(), args: [], tests: [], line: test.line, column: test.column}
    }
    needs(test, spec.ext, `the test "${test.name}"`)
    const node = checkArgs(test, spec, 'test')
    if (test.name === 'envelope') {
      for (const part of node.args[0] ? stringsOf(node.args[0]) : []) {
        if (!['from', 'to'].includes(part.toLowerCase())) error(node.args[0]!, `unknown envelope part "${part}" (from or to)`)
      }
    }
    const headerArg = ['header', 'address', 'exists', 'date'].includes(test.name) ? node.args[0] : undefined
    for (const name of headerArg ? stringsOf(headerArg) : []) {
      // RFC 5322 §3.6.8 field-name: printable ASCII but the colon (a variable may supply it at run time)
      if (!FIELD_NAME.test(name) && !(requires.has('variables') && name.includes('${'))) error(headerArg!, `invalid header field name "${name}"`)
    }
    if (test.name === 'size' && !node.tags.has('over') && !node.tags.has('under')) error(test, 'the test "size" needs :over or :under')
    if (test.name === 'date' || test.name === 'currentdate') {
      const part = node.args[test.name === 'date' ? 1 : 0]
      if (part?.kind === 'string' && !part.value.includes('${') && !DATE_PARTS.has(part.value.toLowerCase())) error(part, `unknown date part "${part.value}"`)
      const zone = node.tags.get('zone')
      if (zone?.kind === 'string' && !zone.value.includes('${') && !/^[+-]\d{4}$/.test(zone.value)) error(zone, `invalid time zone "${zone.value}" (+hhmm or -hhmm)`)
    }
    if (test.name === 'hasflag' && node.args.length === 2) {
      for (const name of stringsOf(node.args[0]!)) if (!VARIABLE_NAME.test(name)) error(node.args[0]!, `invalid variable name "${name}"`)
    }
    return node
  }

  const checkVariableName = (arg: Argument | undefined) => {
    if (arg?.kind === 'string' && !VARIABLE_NAME.test(arg.value)) error(arg, `invalid variable name "${arg.value}"`)
  }

  const checkBlock = (nodes: CommandNode[], topLevel: boolean): Node[] => {
    const out: Node[] = []
    let requireAllowed = topLevel
    let previous: Node | undefined
    for (const c of nodes) {
      const spec = COMMANDS[c.name]
      if (!spec) {
        error(c, TESTS[c.name] ? `"${c.name}" is a test, not a command (missing "if"?)` : `unknown command "${c.name}"`)
        previous = undefined
        continue
      }
      if (c.name === 'require') {
        if (!requireAllowed) error(c, '"require" must come before any other command')
        for (const ext of c.args[0] && c.args[0].kind !== 'number' && c.args[0].kind !== 'tag' ? stringsOf(c.args[0]) : []) {
          if ((SIEVE_CAPABILITIES as readonly string[]).includes(ext)) requires.add(ext)
          else error(c.args[0]!, `unsupported extension "${ext}"`)
        }
      } else requireAllowed = false
      needs(c, spec.ext, `the command "${c.name}"`)
      const node = checkArgs(c, spec, 'command')
      if (spec.block && !c.block) error(c, `"${c.name}" needs a block in braces`)
      if (!spec.block && c.block) error(c, `"${c.name}" takes no block (a ";" is missing?)`)
      if (c.block) node.block = checkBlock(c.block, false)
      if (c.name === 'set') checkVariableName(node.args[0])
      if (['setflag', 'addflag', 'removeflag'].includes(c.name) && node.args.length === 2) checkVariableName(node.args[0])
      if (c.name === 'elsif' || c.name === 'else') {
        if (!previous || (previous.name !== 'if' && previous.name !== 'elsif')) {
          error(c, `"${c.name}" must follow "if" or "elsif"`)
        } else {
          const head = out[out.length - 1]!
          ;(head.branches ??= []).push(node)
          previous = c.name === 'elsif' ? node : undefined
          continue
        }
      }
      if (c.name === 'require') {
        previous = undefined
        continue
      }
      out.push(node)
      previous = c.name === 'if' ? node : undefined
    }
    return out
  }

  const commands = checkBlock(tree, true)
  return {script: {commands, requires}, errors}
}

export function stringsOf(arg: Argument): string[] {
  if (arg.kind === 'list') return arg.values
  if (arg.kind === 'string') return [arg.value]
  return []
}

const fits = (a: Argument, type: ArgType) => (type === 'number' ? a.kind === 'number' : type === 'string' ? a.kind === 'string' : a.kind === 'string' || a.kind === 'list')

const describe = (type: ArgType) => (type === 'list' ? 'string list' : type)

const ENCODED = /\$\{(hex|unicode):([^}]*)\}/gi

/**
 * RFC 5228 §2.4.2.4 (encoded-character): `${hex: 41 42}` and `${unicode: 1F600}` in strings,
 * replaced once at parse time. A malformed sequence is left as written; bytes that are not
 * UTF-8, or a code point that is no character, are errors.
 */
function decodeEncodedCharacters(arg: Argument, error: (at: Position, message: string) => void): void {
  const decode = (s: string) =>
    s.includes('${')
      ? s.replace(ENCODED, (whole, kind: string, body: string) => {
          const items = body.trim() === '' ? [] : body.trim().split(/[ \t]+/)
          if (kind.toLowerCase() === 'hex') {
            if (!items.every((h) => /^[0-9a-f]{1,2}$/i.test(h))) return whole
            try {
              return new TextDecoder('utf-8', {fatal: true}).decode(Buffer.from(items.map((h) => parseInt(h, 16))))
            } catch {
              error(arg, `"${whole}" is not UTF-8`)
              return whole
            }
          }
          if (!items.every((h) => /^[0-9a-f]+$/i.test(h))) return whole
          const points = items.map((h) => (h.replace(/^0+(?=.)/, '').length > 6 ? Infinity : parseInt(h, 16)))
          const bad = points.find((p) => p > 0x10ffff || (p >= 0xd800 && p <= 0xdfff))
          if (bad !== undefined) {
            error(arg, `"${whole}" holds a code point that is no character`)
            return whole
          }
          return String.fromCodePoint(...points)
        })
      : s
  if (arg.kind === 'string') arg.value = decode(arg.value)
  else if (arg.kind === 'list') arg.values = arg.values.map(decode)
}
