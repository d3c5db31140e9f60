/**
 * The Debian package: out/mailbox_<version>_amd64.deb (+ .sha256), built by build.ts from the
 * single executable with dpkg-deb alone (no debhelper). What goes where:
 *   /usr/bin/mailbox                      the single executable (needs no Node.js)
 *   /lib/systemd/system/mailbox.service   the unit of src/init/systemd-unit.ts for the packaged
 *                                         paths (= docs/mailbox.service): user `mailbox`, state
 *                                         /var/lib/mailbox, config /etc/mailbox/mailbox.jsonc
 *   /etc/mailbox/                         empty: `mailbox init` writes the config into it
 *   /usr/share/doc/mailbox/               copyright, examples/mailbox.example.jsonc
 * and the maintainer scripts in debian/ (the account, the state dir, the unit's enablement).
 * The config is not a conffile: `mailbox init` writes it for this host (as postfix's postinst
 * writes main.cf), so `remove` keeps it and `purge` deletes it (postrm).
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {exampleConfig} from '../../src/config-example.js'
import {PACKAGED_UNIT, systemdUnit} from '../../src/init/systemd-unit.js'

const SCRIPTS = join(import.meta.dirname, 'debian')
const MAINTAINER_SCRIPTS = ['postinst', 'prerm', 'postrm']
const MAINTAINER = 'mailbox developers <mailbox@localhost>'

export interface DebRequest {
  /** the single executable */
  binary: string
  version: string
  /** the .deb to write */
  output: string
  /** the native add-ons the binary unpacks and loads at run time (for the glibc it needs) */
  addons: string[]
  /** a scratch dir for the package tree (emptied first) */
  work: string
}

/**
 * The lowest glibc the files run on: the highest `GLIBC_2.N` symbol version they name (the
 * executable itself, and the add-ons it unpacks at run time, lmdb's asking for the most).
 */
export function glibcNeeded(files: string[]): string {
  let minor = 0
  const marker = Buffer.from('GLIBC_2.')
  for (const file of files) {
    const data = readFileSync(file)
    for (let at = data.indexOf(marker); at >= 0; at = data.indexOf(marker, at + marker.length)) {
      const digits = /^\d+/.exec(data.subarray(at + marker.length, at + marker.length + 4).toString('latin1'))
      if (digits) minor = Math.max(minor, Number(digits[0]))
    }
  }
  return `2.${minor}`
}

function filesUnder(root: string): string[] {
  return readdirSync(root, {recursive: true, encoding: 'utf8'}).filter((f) => !f.startsWith('DEBIAN') && statSync(join(root, f)).isFile()).sort()
}

function put(root: string, path: string, text: string | Buffer, mode = 0o644): void {
  const file = join(root, path)
  mkdirSync(dirname(file), {recursive: true, mode: 0o755})
  writeFileSync(file, text, {mode})
  chmodSync(file, mode) // not narrowed by the umask
}

/** A hard link when out/ allows it (149 MB not copied), else a copy. */
function placeBinary(binary: string, target: string): void {
  mkdirSync(dirname(target), {recursive: true, mode: 0o755})
  try {
    linkSync(binary, target)
  } catch {
    copyFileSync(binary, target)
  }
  chmodSync(target, 0o755)
}

function control(r: DebRequest, installedKiB: number, glibc: string): string {
  return `Package: mailbox
Version: ${r.version}
Architecture: amd64
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKiB}
Depends: libc6 (>= ${glibc}), libgcc-s1 | libgcc1, libstdc++6 (>= 5)
Section: mail
Priority: optional
Description: all-in-one mail appliance: SMTP, IMAP, POP3 and a queue in one binary
 An all-in-one mail appliance in one process over one embedded LMDB store:
 SMTP (inbound MX and authenticated submission), IMAP, POP3, argon2id password
 auth and a durable outbound queue, administered with scriptable commands and
 watched live in a terminal dashboard.
 .
 One self-contained executable on its own Node.js runtime: no Node.js needed.
 Set it up with \`mailbox init\`, which writes /etc/mailbox/mailbox.jsonc; the
 mailbox.service unit starts once that file exists.
`
}

export function buildDeb(r: DebRequest): void {
  rmSync(r.work, {recursive: true, force: true})
  const root = join(r.work, 'root')
  mkdirSync(join(root, 'DEBIAN'), {recursive: true, mode: 0o755})
  placeBinary(r.binary, join(root, 'usr', 'bin', 'mailbox'))
  put(root, 'lib/systemd/system/mailbox.service', systemdUnit(PACKAGED_UNIT))
  mkdirSync(join(root, 'etc', 'mailbox'), {recursive: true, mode: 0o755})
  put(root, 'usr/share/doc/mailbox/copyright', readFileSync(join(SCRIPTS, 'copyright')))
  put(root, 'usr/share/doc/mailbox/examples/mailbox.example.jsonc', exampleConfig())

  const files = filesUnder(root)
  const md5sums = files.map((f) => `${createHash('md5').update(readFileSync(join(root, f))).digest('hex')}  ${f}\n`).join('')
  const installedKiB = files.reduce((sum, f) => sum + Math.ceil(statSync(join(root, f)).size / 1024), 0)
  put(root, 'DEBIAN/control', control(r, installedKiB, glibcNeeded([r.binary, ...r.addons])))
  put(root, 'DEBIAN/md5sums', md5sums)
  for (const script of MAINTAINER_SCRIPTS) put(root, `DEBIAN/${script}`, readFileSync(join(SCRIPTS, script)), 0o755)

  rmSync(r.output, {force: true})
  // root:root whoever builds it; xz -0: 42 MB in 7 s here (-1: 39 MB in 18 s; gzip -6: 49 MB in 6 s)
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z0', '--build', root, r.output], {stdio: ['ignore', 'ignore', 'inherit']})
  const sha = createHash('sha256').update(readFileSync(r.output)).digest('hex')
  writeFileSync(`${r.output}.sha256`, `${sha}  ${relative(dirname(r.output), r.output)}\n`)
  rmSync(r.work, {recursive: true, force: true})
}
