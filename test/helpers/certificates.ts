/**
 * Certificates for the tests of the TLS listeners: a fresh self-signed pair per call (ECDSA P-256,
 * as src/tls.ts makes), and the serial a client sees, to tell which one a handshake served.
 */
import {X509Certificate} from 'node:crypto'
import {connect as netConnect} from 'node:net'
import {connect as tlsConnect, type PeerCertificate, type TLSSocket} from 'node:tls'
import selfsigned from 'selfsigned'

export interface TestCertificate {
  names: string[]
  certPem: string
  keyPem: string
  /** upper-case hex, as getPeerCertificate() gives it */
  serial: string
}

export async function makeCertificate(names: string[], days = 90): Promise<TestCertificate> {
  const pems = await selfsigned.generate([{name: 'commonName', value: names[0]!}], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    algorithm: 'sha256',
    extensions: [{name: 'subjectAltName', altNames: names.map((value) => ({type: 2, value}))}],
  })
  return {names, certPem: pems.cert, keyPem: pems.private, serial: new X509Certificate(pems.cert).serialNumber.toUpperCase()}
}

/** the serial of the certificate a TLS socket's peer presented */
export const peerSerial = (socket: TLSSocket): string => (socket.getPeerCertificate() as PeerCertificate).serialNumber.toUpperCase()

/** implicit TLS to `port` with `servername` (undefined: no SNI): the serial served */
export async function servedSerial(port: number, servername?: string): Promise<string> {
  const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? {servername} : {})})
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve())
      socket.once('error', reject)
    })
    return peerSerial(socket)
  } finally {
    socket.destroy()
  }
}

/**
 * STARTTLS-style: connects in the clear, lets `dialogue` bring the session to its TLS command,
 * then starts TLS with `servername` on the same socket: the serial served.
 */
export async function upgradedSerial(port: number, servername: string | undefined, dialogue: (send: (line: string) => void, read: (until: RegExp) => Promise<string>) => Promise<void>): Promise<string> {
  const plain = netConnect({host: '127.0.0.1', port})
  let buffered = ''
  const waiting: (() => void)[] = []
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('latin1')
    for (const w of waiting.splice(0)) w()
  }
  plain.on('data', onData)
  const read = async (until: RegExp): Promise<string> => {
    for (;;) {
      const m = until.exec(buffered)
      if (m) {
        const upTo = buffered.slice(0, m.index + m[0].length)
        buffered = buffered.slice(m.index + m[0].length)
        return upTo
      }
      await new Promise<void>((resolve, reject) => {
        waiting.push(resolve)
        plain.once('close', () => reject(new Error(`closed before ${until}: ${buffered}`)))
      })
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      plain.once('connect', () => resolve())
      plain.once('error', reject)
    })
    await dialogue((line) => plain.write(`${line}\r\n`), read)
    plain.off('data', onData)
    const secure = tlsConnect({socket: plain, rejectUnauthorized: false, ...(servername ? {servername} : {})})
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve())
      secure.once('error', reject)
    })
    const serial = peerSerial(secure)
    secure.destroy()
    return serial
  } finally {
    plain.destroy()
  }
}
