/**
 * The parsed-key cache of the verifier threads (src/mail-auth/key-cache.ts) wraps mailauth's
 * internal `getPublicKey`. This test fails when mailauth stops taking its keys through it (a new
 * version that inlines or renames it), or when a cached key would outlive its DNS record: in a
 * fresh Node process, as a verifier thread loads them (the compiled cache first, then mailauth),
 * the same signed message is verified three times (one parse, two hits, all pass), then once more
 * after the key's record changed to another key (parsed anew: the signature now fails). The key
 * it hands on is a KeyObject (so crypto.verify does not parse PEM text again for every signature)
 * that mailauth still reports as its PEM.
 */
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {expect, it} from 'vitest'

const CACHE = fileURLToPath(new URL('../../dist/src/mail-auth/key-cache.js', import.meta.url))

const SCRIPT = `
import {keyCacheStats} from ${JSON.stringify(CACHE)}
import {authenticate, dkimSign} from 'mailauth'
import tools from 'mailauth/lib/tools.js'
import {generateKeyPairSync} from 'node:crypto'
const pair = () => generateKeyPairSync('rsa', {modulusLength: 2048})
const record = (key) => 'v=DKIM1; k=rsa; p=' + key.publicKey.export({type: 'spki', format: 'der'}).toString('base64')
const signer = pair()
let published = record(signer)
const resolver = async (name, type) => {
  if (type === 'TXT' && name === 'sel._domainkey.sender.test') return [[published]]
  throw Object.assign(new Error('no such name'), {code: 'ENOTFOUND'})
}
const raw = Buffer.from('From: a@sender.test\\r\\nTo: b@example.com\\r\\nSubject: keys\\r\\n\\r\\nhello\\r\\n')
const {signatures} = await dkimSign(raw, {signatureData: [{signingDomain: 'sender.test', selector: 'sel', privateKey: signer.privateKey.export({type: 'pkcs8', format: 'pem'})}]})
const message = Buffer.concat([Buffer.from(signatures), raw])
const verify = async () => (await authenticate(message, {ip: '127.0.0.1', sender: 'a@sender.test', mta: 'mx.test', resolver, disableBimi: true})).dkim.results[0]
const first = await verify()
const results = [first.status.result, (await verify()).status.result, (await verify()).status.result]
const handed = (await tools.getPublicKey('DKIM', 'sel._domainkey.sender.test', undefined, resolver)).publicKey
const key = {type: handed.constructor.name, reported: first.publicKey.split('\\n')[0]}
const before = {...keyCacheStats}
published = record(pair())
results.push((await verify()).status.result)
console.log(JSON.stringify({results, before, after: keyCacheStats, key}))
`

it('mailauth takes its DKIM keys through the cache: parsed once per record, a changed record parsed anew', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 60_000})
  const {results, before, after, key} = JSON.parse(out.trim().split('\n').at(-1)!) as {
    results: string[]
    before: {parses: number; hits: number}
    after: {parses: number; hits: number}
    key: {type: string; reported: string}
  }
  expect(results).toEqual(['pass', 'pass', 'pass', 'fail'])
  expect(before).toEqual({parses: 1, hits: 3})
  expect(after).toEqual({parses: 2, hits: 3})
  expect(key).toEqual({type: 'PublicKeyObject', reported: '-----BEGIN RSA PUBLIC KEY-----'})
})
