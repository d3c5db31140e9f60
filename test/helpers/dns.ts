/**
 * A loopback DNS responder for tests (RFC 1035 over UDP and TCP on 127.0.0.1): answers from a
 * zone given as a plain object, so MX routing, SPF, DKIM, DMARC, MTA-STS and SRV lookups can be
 * pointed at it (`--dns-server 127.0.0.1:PORT`). Names are lower-case without the trailing dot.
 * A name with no records of the asked type gets an empty answer (NODATA), an unknown name
 * NXDOMAIN, and `rcode` forces a response code (2 SERVFAIL). `delayMs` holds every answer for a
 * name (a slow or dead server); `drop` never answers (a timeout).
 */
import {createSocket, type Socket as UdpSocket} from 'node:dgram'
import {createServer, type Server, type Socket} from 'node:net'

export interface ZoneRecords {
  MX?: {priority: number; exchange: string}[]
  A?: string[]
  AAAA?: string[]
  /** each record one string (split into 255-byte character-strings on the wire), or its parts */
  TXT?: (string | string[])[]
  SRV?: {priority: number; weight: number; port: number; target: string}[]
  CNAME?: string[]
  /** answer every question about this name with this response code (2 SERVFAIL, 3 NXDOMAIN) */
  rcode?: number
  /** hold each answer about this name this long */
  delayMs?: number
  /** never answer about this name */
  drop?: boolean
}

const TYPES: Record<number, 'MX' | 'A' | 'AAAA' | 'TXT' | 'SRV' | 'CNAME'> = {15: 'MX', 1: 'A', 28: 'AAAA', 16: 'TXT', 33: 'SRV', 5: 'CNAME'}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean)
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])])
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in place. */
function readName(msg: Buffer, offset: number): {name: string; end: number} {
  const labels: string[] = []
  let pos = offset
  let end = -1
  for (let hops = 0; hops < 64; hops++) {
    const len = msg[pos]
    if (len === undefined) throw new Error('truncated name')
    if (len === 0) {
      if (end === -1) end = pos + 1
      return {name: labels.join('.'), end}
    }
    if ((len & 0xc0) === 0xc0) {
      if (end === -1) end = pos + 2
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!
      continue
    }
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('ascii'))
    pos += 1 + len
  }
  throw new Error('name loop')
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

function txtData(value: string | string[]): Buffer {
  const parts: Buffer[] = []
  for (const text of Array.isArray(value) ? value : [value]) {
    const bytes = Buffer.from(text, 'utf8')
    for (let i = 0; i < bytes.length || (i === 0 && bytes.length === 0); i += 255) {
      const piece = bytes.subarray(i, i + 255)
      parts.push(Buffer.from([piece.length]), piece)
      if (bytes.length === 0) break
    }
  }
  return Buffer.concat(parts)
}

function rdataOf(kind: (typeof TYPES)[number], value: unknown): Buffer {
  switch (kind) {
    case 'MX': {
      const mx = value as {priority: number; exchange: string}
      const pref = Buffer.alloc(2)
      pref.writeUInt16BE(mx.priority)
      return Buffer.concat([pref, encodeName(mx.exchange)])
    }
    case 'A':
      return Buffer.from((value as string).split('.').map(Number))
    case 'AAAA':
      return ipv6Bytes(value as string)
    case 'TXT':
      return txtData(value as string | string[])
    case 'SRV': {
      const srv = value as {priority: number; weight: number; port: number; target: string}
      const head = Buffer.alloc(6)
      head.writeUInt16BE(srv.priority, 0)
      head.writeUInt16BE(srv.weight, 2)
      head.writeUInt16BE(srv.port, 4)
      return Buffer.concat([head, encodeName(srv.target)])
    }
    case 'CNAME':
      return encodeName(value as string)
  }
}

/** the question's name, type and the zone's records for it; undefined for garbage */
function questionOf(query: Buffer): {name: string; qtype: number; end: number} | undefined {
  if (query.length < 12) return undefined
  const flags = query.readUInt16BE(2)
  if (flags & 0x8000 || query.readUInt16BE(4) !== 1) return undefined // a response, or not one question
  const {name, end} = readName(query, 12)
  return {name: name.toLowerCase(), qtype: query.readUInt16BE(end), end}
}

/** Answers one query (or returns undefined for garbage). */
export function dnsAnswer(query: Buffer, zone: Record<string, ZoneRecords>): Buffer | undefined {
  const q = questionOf(query)
  if (!q) return undefined
  const id = query.readUInt16BE(0)
  const flags = query.readUInt16BE(2)
  const question = query.subarray(12, q.end + 4)
  const records = zone[q.name]
  const rcode = records ? (records.rcode ?? 0) : 3 // other types of a known name: no data
  const answers: Buffer[] = []
  const kind = TYPES[q.qtype]
  if (records && rcode === 0 && kind) {
    // a CNAME answers any type, as a real server does
    const [type, values] = records.CNAME?.length && kind !== 'CNAME' ? (['CNAME', records.CNAME] as const) : ([kind, (records[kind] as unknown[] | undefined) ?? []] as const)
    const typeCode = Number(Object.entries(TYPES).find(([, k]) => k === type)![0])
    for (const value of values) {
      const rdata = rdataOf(type, value)
      const head = Buffer.alloc(12)
      head.writeUInt16BE(0xc00c, 0) // the name: a pointer to the question's
      head.writeUInt16BE(typeCode, 2)
      head.writeUInt16BE(1, 4) // IN
      head.writeUInt32BE(60, 6)
      head.writeUInt16BE(rdata.length, 10)
      answers.push(head, rdata)
    }
  }
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id, 0)
  // QR, AA, RD copied, RA, rcode
  header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(answers.length / 2, 6)
  return Buffer.concat([header, question, ...answers])
}

export interface DnsServer {
  port: number
  /** every question asked, as "TYPE name" */
  questions: string[]
  zone: Record<string, ZoneRecords>
  close(): Promise<void>
}

/** A DNS responder on 127.0.0.1 (UDP and TCP on the same port) answering from `zone`, which may be changed while it runs. */
export async function startDns(zone: Record<string, ZoneRecords>): Promise<DnsServer> {
  const questions: string[] = []
  /** the reply to `msg`, after the zone's delay for the name; undefined: no answer */
  const respond = async (msg: Buffer): Promise<Buffer | undefined> => {
    const q = questionOf(msg)
    if (!q) return undefined
    questions.push(`${TYPES[q.qtype] ?? q.qtype} ${q.name}`)
    const records = zone[q.name]
    if (records?.drop) return undefined
    if (records?.delayMs) await new Promise((r) => setTimeout(r, records.delayMs))
    return dnsAnswer(msg, zone)
  }
  const udp: UdpSocket = createSocket('udp4')
  udp.on('message', (msg, rinfo) => {
    respond(msg).then(
      (reply) => {
        if (!reply) return
        // over 512 bytes without EDNS: truncated (TC), so the client asks again over TCP
        const edns = msg.length > 12 && msg.readUInt16BE(10) > 0
        if (reply.length > 512 && !edns) {
          const head = Buffer.from(reply.subarray(0, 12))
          head.writeUInt16BE(head.readUInt16BE(2) | 0x0200, 2)
          head.writeUInt16BE(0, 6)
          const q = questionOf(msg)!
          return udp.send(Buffer.concat([head, msg.subarray(12, q.end + 4)]), rinfo.port, rinfo.address)
        }
        udp.send(reply, rinfo.port, rinfo.address)
      },
      () => {},
    )
  })
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(0, '127.0.0.1', () => resolve())
  })
  const port = udp.address().port
  const sockets = new Set<Socket>()
  const tcp: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
        buffered = buffered.subarray(2 + msg.length)
        respond(Buffer.from(msg)).then(
          (reply) => {
            if (!reply || socket.destroyed) return
            const len = Buffer.alloc(2)
            len.writeUInt16BE(reply.length)
            socket.write(Buffer.concat([len, reply]))
          },
          () => {},
        )
      }
    })
  })
  // the TCP side takes the UDP side's port when it is free (it is, nearly always); else any port
  await new Promise<void>((resolve) => {
    tcp.once('error', () => tcp.listen(0, '127.0.0.1', () => resolve()))
    tcp.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    port,
    questions,
    zone,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
      await new Promise<void>((resolve) => udp.close(() => resolve()))
    },
  }
}
