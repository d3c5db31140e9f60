/**
 * SMTP ingest with every message checked by rspamd against without (`BENCH_SMTP_ONLY=rspamd npm
 * run bench -- smtp`): Debian's rspamd on this machine, started as the tests start it
 * (test/helpers/rspamd.ts: local config, dead DNS, redis for bayes), with one normal worker per
 * core as rspamd's own default. Off, on, on, off (bench/smtp.ts offOnOnOff). Where the time goes:
 * mailbox's CPU per message (all its threads), rspamd's (all its processes), and rspamd's own
 * scan time per message (the mean of the last scans its controller reports).
 */
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {startRspamd} from '../test/helpers/rspamd.js'
import {cpuSeconds} from './serve.js'
import {loadGenerator, mailboxIngest, mean, offOnOnOff} from './smtp.js'

export interface RspamdIngest {
  off: number
  on: number
  offCpuMs: number
  onCpuMs: number
  /** rspamd's CPU per message, all its processes */
  rspamdCpuMs: number
  /** rspamd's own scan time per message */
  scanMs: number
  workers: number
  verdicts: Record<string, number>
}

export async function rspamdIngest(dir: string, flags: string[], messages: number): Promise<RspamdIngest> {
  const workers = availableParallelism()
  const rspamd = await startRspamd({workers})
  const rspamdCpu = () => rspamd.pids().reduce((sum, pid) => sum + safeCpu(pid), 0)
  try {
    const {load} = loadGenerator()
    let rspamdSeconds = 0
    let scanned = 0
    const runs = await offOnOnOff('rspamd', async (name, on) => {
      if (!on) return mailboxIngest(join(dir, name), load, flags, messages)
      const [cpu, before] = [rspamdCpu(), (await rspamd.stat()).scanned]
      const measured = await mailboxIngest(join(dir, name), load, [...flags, '--rspamd', rspamd.url], messages)
      rspamdSeconds += rspamdCpu() - cpu
      scanned += (await rspamd.stat()).scanned - before
      return measured
    })
    const stat = (await rspamd.stat()) as unknown as {scan_times: (number | null)[]; actions: Record<string, number>}
    const times = stat.scan_times.filter((t): t is number => typeof t === 'number')
    // every message went through rspamd (warm-ups included): else the "on" runs measured nothing
    if (scanned < 2 * messages) throw new Error(`rspamd bench: rspamd scanned ${scanned} messages, expected at least ${2 * messages}`)
    return {
      off: mean(runs.off.map((m) => m.rate)),
      on: mean(runs.on.map((m) => m.rate)),
      offCpuMs: mean(runs.off.map((m) => m.cpuMs)),
      onCpuMs: mean(runs.on.map((m) => m.cpuMs)),
      rspamdCpuMs: (rspamdSeconds * 1000) / scanned,
      scanMs: times.length ? mean(times) * 1000 : NaN,
      workers,
      verdicts: stat.actions,
    }
  } finally {
    await rspamd.stop()
  }
}

/** a worker may have been replaced meanwhile: its CPU is then lost, not an error */
function safeCpu(pid: number): number {
  try {
    return cpuSeconds(pid)
  } catch {
    return 0
  }
}
