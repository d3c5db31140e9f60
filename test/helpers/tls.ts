/** Client-side STARTTLS/STLS for the raw protocol clients of the e2e suites: the test server's certificate is self-signed. */
import type {Socket} from 'node:net'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'

export async function upgradeToTls(plain: Socket): Promise<TLSSocket> {
  const secure = tlsConnect({socket: plain, rejectUnauthorized: false})
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve())
    secure.once('error', reject)
  })
  return secure
}
