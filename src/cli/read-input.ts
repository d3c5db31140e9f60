/**
 * Reading a command's input file, or stdin for `-`, whole and bounded: a file larger than
 * `maxBytes` is refused before it is read, stdin as soon as it passes the bound. The text must
 * be UTF-8 (a leading byte-order mark is dropped by the parsers).
 */
import {open} from 'node:fs/promises'
import {MailboxError} from '../errors.js'
import {formatSize} from '../size.js'

/** `limit`: what raises `maxBytes`, for the refusal's message */
export async function readInput(path: string, maxBytes: number, limit = '--max-size'): Promise<string> {
  const tooLarge = () => new MailboxError('too-large', `${path === '-' ? 'stdin' : path} is larger than ${formatSize(maxBytes)} (raise ${limit})`)
  const chunks: Buffer[] = []
  let size = 0
  const take = (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  if (path === '-') {
    for await (const chunk of process.stdin) take(chunk as Buffer)
  } else {
    const file = await open(path).catch((err: NodeJS.ErrnoException) => {
      throw new MailboxError('not-found', `cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message)}`)
    })
    try {
      if ((await file.stat()).size > maxBytes) throw tooLarge()
      for await (const chunk of file.createReadStream()) take(chunk as Buffer)
    } finally {
      await file.close()
    }
  }
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(Buffer.concat(chunks))
  } catch {
    throw new MailboxError('invalid', `${path === '-' ? 'stdin' : path} is not UTF-8 text`)
  }
}
