/**
 * The postmaster's first password: random, strong, and easy to copy from a terminal. Letters and
 * digits without the look-alikes (0/O, 1/l/I), in four dash-separated groups of six: 24 characters
 * from 57, about 140 bits. It is printed once and only its argon2id hash is stored.
 */
import {randomInt} from 'node:crypto'

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'

export function generatePassword(groups = 4, groupLength = 6): string {
  const group = () => Array.from({length: groupLength}, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
  return Array.from({length: groups}, group).join('-')
}
