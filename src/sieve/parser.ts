/**
 * The generic Sieve grammar (RFC 5228 §8.2) into a tree of commands and tests with their raw
 * arguments; what each command means and accepts is checked afterwards (./validate.ts).
 * Nesting is bounded so a hostile script cannot exhaust the stack.
 */
import {SieveSyntaxError, type Token} from './lexer.js'

export interface Position {
  line: number
  column: number
}

export type Argument =
  | ({kind: 'string'; value: string} & Position)
  | ({kind: 'list'; values: string[]} & Position)
  | ({kind: 'number'; value: number} & Position)
  | ({kind: 'tag'; name: string} & Position)

export interface TestNode extends Position {
  name: string
  args: Argument[]
  tests: TestNode[]
}

export interface CommandNode extends Position {
  name: string
  args: Argument[]
  tests: TestNode[]
  block?: CommandNode[]
}

export function parseTokens(tokens: Token[], maxDepth: number): CommandNode[] {
  let p = 0
  const peek = () => tokens[p]!
  const next = () => tokens[p++]!
  const fail = (t: Token, message: string): never => {
    throw new SieveSyntaxError(message, t.line, t.column)
  }
  const describe = (t: Token) => (t.kind === 'eof' ? 'end of script' : t.kind === 'string' ? 'a string' : `"${t.kind === 'tag' ? ':' : ''}${t.text}"`)
  const isPunct = (t: Token, c: string) => t.kind === 'punct' && t.text === c

  const commands = (depth: number, inBlock: boolean): CommandNode[] => {
    const out: CommandNode[] = []
    for (;;) {
      const t = peek()
      if (t.kind === 'eof') {
        if (inBlock) fail(t, 'missing "}" at the end of a block')
        return out
      }
      if (inBlock && isPunct(t, '}')) return out
      out.push(command(depth))
    }
  }

  const command = (depth: number): CommandNode => {
    const t = next()
    if (t.kind !== 'identifier') fail(t, `expected a command name, found ${describe(t)}`)
    const {args, tests} = argumentsOf(depth)
    const node: CommandNode = {name: t.text, args, tests, line: t.line, column: t.column}
    const end = next()
    if (isPunct(end, ';')) return node
    if (isPunct(end, '{')) {
      if (depth + 1 > maxDepth) fail(end, `blocks nested deeper than ${maxDepth}`)
      node.block = commands(depth + 1, true)
      next() // the '}'
      return node
    }
    return fail(end, `expected ";" or "{" after the command "${t.text}", found ${describe(end)}`)
  }

  const argumentsOf = (depth: number): {args: Argument[]; tests: TestNode[]} => {
    const args: Argument[] = []
    for (;;) {
      const t = peek()
      if (t.kind === 'string') {
        next()
        args.push({kind: 'string', value: t.text, line: t.line, column: t.column})
      } else if (t.kind === 'number') {
        next()
        args.push({kind: 'number', value: t.value!, line: t.line, column: t.column})
      } else if (t.kind === 'tag') {
        next()
        args.push({kind: 'tag', name: t.text, line: t.line, column: t.column})
      } else if (isPunct(t, '[')) {
        next()
        const values: string[] = []
        for (;;) {
          const s = next()
          if (s.kind !== 'string') fail(s, `expected a string in a string list, found ${describe(s)}`)
          values.push(s.text)
          const sep = next()
          if (isPunct(sep, ']')) break
          if (!isPunct(sep, ',')) fail(sep, `expected "," or "]" in a string list, found ${describe(sep)}`)
        }
        args.push({kind: 'list', values, line: t.line, column: t.column})
      } else break
    }
    const t = peek()
    if (t.kind === 'identifier') return {args, tests: [test(depth + 1)]}
    if (isPunct(t, '(')) {
      next()
      const tests: TestNode[] = []
      for (;;) {
        tests.push(test(depth + 1))
        const sep = next()
        if (isPunct(sep, ')')) break
        if (!isPunct(sep, ',')) fail(sep, `expected "," or ")" in a test list, found ${describe(sep)}`)
      }
      return {args, tests}
    }
    return {args, tests: []}
  }

  const test = (depth: number): TestNode => {
    const t = next()
    if (t.kind !== 'identifier') fail(t, `expected a test, found ${describe(t)}`)
    if (depth > maxDepth) fail(t, `tests nested deeper than ${maxDepth}`)
    const {args, tests} = argumentsOf(depth)
    return {name: t.text, args, tests, line: t.line, column: t.column}
  }

  return commands(0, false)
}
