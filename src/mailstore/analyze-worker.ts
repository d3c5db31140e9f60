/** Worker thread body for AnalyzePool: analyzes messages posted by the main thread. */
import {parentPort} from 'node:worker_threads'
import {analyzeMessage} from './analyze.js'

parentPort!.on('message', (job: {id: number; raw: Uint8Array}) => {
  const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength)
  analyzeMessage(raw).then(
    (analysis) => parentPort!.postMessage({id: job.id, analysis}),
    (err: unknown) => parentPort!.postMessage({id: job.id, error: (err as Error).message ?? String(err)}),
  )
})
