/** A TCP port that was free a moment ago on 127.0.0.1 (shared by the tests and the benchmarks). */
import {createServer} from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as {port: number}
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}
