/**
 * The contract between the HTTP side (./server.ts: the `--http-port` and `--https-port`
 * listeners) and the parts that answer on it: ACME HTTP-01 challenges, MTA-STS policies, client
 * autoconfiguration. The server reads and bounds the request (size, time), lower-cases the host
 * and strips its port, then asks each route in turn; the first that returns a reply answers, and
 * when none does the answer is 404. A route never sees a socket: it is a function of the request,
 * unit-testable without a listener.
 */
import type {IncomingHttpHeaders} from 'node:http'

export interface HttpRequest {
  /** upper-case, as sent: GET, HEAD, POST */
  method: string
  /** the Host header's name, lower-case, without port or trailing dot ('' when absent) */
  host: string
  /** the path, percent-decoding left to the route, without the query */
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** the request body (POST), already bounded by the server's limit; empty for GET */
  body: Buffer
  /** arrived over HTTPS */
  secure: boolean
  remoteAddress: string
}

export interface HttpReply {
  status: number
  /** Content-Type and any other header; the server adds Content-Length, Date and Cache-Control: no-store unless given */
  headers?: Record<string, string>
  body?: string | Buffer
}

/** answers the requests it knows, returns undefined for the others (the next route is asked) */
export type HttpRoute = (request: HttpRequest) => HttpReply | undefined | Promise<HttpReply | undefined>
