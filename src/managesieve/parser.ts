/**
 * A ManageSieve command (RFC 5804 §4) from the pieces the framing hands over (src/imap/framing.ts:
 * text pieces with the literal bytes between them) to `{name, args}`:
 *
 *   command  = command-name *(SP argument) CRLF
 *   argument = string / number
 *   string   = quoted / literal-c2s          ; quoted: at most 1024 octets, `\"` and `\\` escapes
 *   number   = 1*DIGIT                        ; below 2^32
 *
 * A literal stays bytes (a script): `stringArg` decodes it strictly, so invalid UTF-8 is a
 * client error, never a U+FFFD slipped into a script. The framing decoded the text pieces
 * already, replacing invalid bytes with U+FFFD, so a quoted string holding U+FFFD is refused too.
 * Everything malformed throws `CommandSyntaxError` with a message for the client.
 */

export type Arg = {kind: 'string'; value: string | Buffer} | {kind: 'number'; value: number}

export interface Command {
  /** upper case */
  name: string
  args: Arg[]
}

export class CommandSyntaxError extends Error {
  override readonly name = 'CommandSyntaxError'
}

/** RFC 5804 §4: `quoted = DQUOTE *1024QUOTED-CHAR DQUOTE` */
export const MAX_QUOTED_BYTES = 1024
const MAX_NUMBER = 2 ** 32 - 1
const COMMAND_NAME = /^[A-Za-z]{1,32}$/

export function parseCommand(parts: readonly (string | Buffer)[]): Command {
  const first = parts[0]
  if (typeof first !== 'string') throw new CommandSyntaxError('expected a command name')
  const space = first.indexOf(' ')
  const name = space === -1 ? first : first.slice(0, space)
  if (!COMMAND_NAME.test(name)) throw new CommandSyntaxError(name ? 'invalid command name' : 'empty command')
  const args = parseArgs([space === -1 ? '' : first.slice(space), ...parts.slice(1)])
  return {name: name.toUpperCase(), args}
}

/**
 * Arguments: each after one space. Also a SASL client response (RFC 5804 §2.1: a string alone on
 * its line), given as `parts` whose first text has no leading space; `leading` says whether one
 * is expected.
 */
export function parseArgs(parts: readonly (string | Buffer)[], leading = true): Arg[] {
  const args: Arg[] = []
  let needSpace = leading
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!
    if (typeof part !== 'string') {
      // a literal: its `{n+}` was the end of the previous text piece, which checked the space before it
      args.push({kind: 'string', value: part})
      needSpace = true
      continue
    }
    const literalFollows = p < parts.length - 1
    let at = 0
    while (at < part.length || (literalFollows && at === part.length)) {
      if (needSpace) {
        if (part[at] !== ' ') throw new CommandSyntaxError(at === part.length && !literalFollows ? 'missing argument' : 'expected a space between arguments')
        at++
        needSpace = false
        continue
      }
      if (at === part.length) {
        // `{n+}` directly after a space: the literal is the next argument
        break
      }
      const c = part[at]!
      if (c === '"') {
        const {value, end} = quoted(part, at)
        args.push({kind: 'string', value})
        at = end
      } else if (c >= '0' && c <= '9') {
        const m = /^\d+/.exec(part.slice(at))![0]
        const value = Number(m)
        if (m.length > 10 || value > MAX_NUMBER) throw new CommandSyntaxError('number too large')
        args.push({kind: 'number', value})
        at += m.length
      } else {
        throw new CommandSyntaxError(`unexpected ${JSON.stringify(c)}: arguments are quoted strings, literals or numbers`)
      }
      needSpace = true
      if (at === part.length && literalFollows) throw new CommandSyntaxError('expected a space before a literal')
    }
  }
  return args
}

function quoted(text: string, start: number): {value: string; end: number} {
  let value = ''
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') {
      if (Buffer.byteLength(value) > MAX_QUOTED_BYTES) throw new CommandSyntaxError(`quoted string longer than ${MAX_QUOTED_BYTES} bytes: use a literal`)
      if (value.includes('\uFFFD')) throw new CommandSyntaxError('string is not valid UTF-8')
      return {value, end: i + 1}
    }
    if (c === '\\') {
      const next = text[++i]
      if (next !== '"' && next !== '\\') throw new CommandSyntaxError('only \\" and \\\\ may be escaped in a quoted string')
      value += next
    } else if (c === '\0' || c === '\r' || c === '\n') {
      throw new CommandSyntaxError('control character in a quoted string')
    } else {
      value += c
    }
  }
  throw new CommandSyntaxError('unterminated quoted string')
}

const strictUtf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

/** a string argument's text; a literal is decoded strictly */
export function stringArg(arg: Arg): string {
  if (arg.kind !== 'string') throw new CommandSyntaxError('expected a string')
  if (typeof arg.value === 'string') return arg.value
  try {
    return strictUtf8.decode(arg.value)
  } catch {
    throw new CommandSyntaxError('string is not valid UTF-8')
  }
}
