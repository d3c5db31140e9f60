/**
 * The systemd unit `mailbox init` writes next to its config file, and docs/mailbox.service (the
 * same text for the packaged paths, written by `npm run gen:config-example`; a unit test fails when
 * the file differs). The data dir is set by the unit (MAILBOX_DATA_DIR): it is not a config key.
 */

export interface UnitSettings {
  /** the program and its leading arguments: `/usr/bin/mailbox`, or node and bin/mailbox */
  command: string[]
  configFile: string
  dataDir: string
  /** the account the server runs as */
  user: string
}

/** the unit docs/mailbox.service shows: the paths of an installed package */
export const PACKAGED_UNIT: UnitSettings = {
  command: ['/usr/bin/mailbox'],
  configFile: '/etc/mailbox/mailbox.jsonc',
  dataDir: '/var/lib/mailbox',
  user: 'mailbox',
}

/** `%` starts a systemd specifier (%h, %n): a literal one is doubled */
const unspecified = (text: string) => text.replaceAll('%', '%%')

/** a word of ExecStart=, ReadWritePaths= or Environment=: quoted (systemd's C-style quoting) when it holds a space, quote or backslash */
export function systemdWord(word: string): string {
  const text = unspecified(word)
  return /^[^\s"'\\]+$/.test(text) ? text : `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** `/var/lib/NAME` is systemd's StateDirectory=NAME: created and handed to User= before start */
function stateDirectory(dataDir: string): string | undefined {
  const m = /^\/var\/lib\/([^/]+(?:\/[^/]+)*)$/.exec(dataDir)
  return m?.[1]
}

export function systemdUnit(settings: UnitSettings): string {
  const {configFile, dataDir, user} = settings
  const state = stateDirectory(dataDir)
  const underHome = [...settings.command, configFile, dataDir].some((path) => /^\/(home|root|run\/user)(\/|$)/.test(path))
  // ExecStart= also expands $VAR: a literal $ is doubled
  const exec = [...settings.command, 'serve', '--config', configFile].map((word) => systemdWord(word).replaceAll('$', '$$$$')).join(' ')
  return `# systemd unit for mailbox. Install: copy to /etc/systemd/system/mailbox.service, then
# \`systemctl daemon-reload && systemctl enable --now mailbox\`. Logs: \`journalctl -u mailbox\`.
# \`mailbox init\` writes it for its own paths; docs/mailbox.service has the packaged ones (/usr/bin,
# /etc/mailbox, /var/lib/mailbox), the config file there made by \`mailbox init\` too.
[Unit]
Description=mailbox mail appliance (SMTP, IMAP, POP3, queue)
After=network-online.target
Wants=network-online.target
# The Debian package installs the unit before \`mailbox init\` writes the config: until then
# \`systemctl start mailbox\` does nothing (and says so in \`systemctl status\`), it does not fail.
ConditionPathExists=${unspecified(configFile)}

[Service]
Type=simple
User=${user}
Group=${user}
WorkingDirectory=${unspecified(dataDir)}
# The data dir (the store, TLS files, control socket): not a config file key. mailbox keeps oclif
# from reading this variable as its own plugin directory, so it means the data dir and nothing else.
Environment=${systemdWord(`MAILBOX_DATA_DIR=${dataDir}`)}
# Listeners, host name, TLS files: the config file (check it with \`mailbox config check --config FILE\`).
ExecStart=${exec}
# \`systemctl reload mailbox\`: re-read the TLS certificate and key (e.g. from a certbot deploy hook)
# and the reloadable settings of the config file; the server keeps running (README: Running the server).
ExecReload=/bin/kill -HUP $MAINPID
# Standard ports below 1024 without running as root:
AmbientCapabilities=CAP_NET_BIND_SERVICE
# No --capture and no --matcher-port: the test matcher (which hands out stored mail) stays closed.
# SIGTERM: stop accepting, finish in-flight transactions, flush and close the store.
KillSignal=SIGTERM
TimeoutStopSec=45
Restart=on-failure
${
  state
    ? `# /var/lib/${state}: systemd creates it and gives it (and what is in it) to ${user}
StateDirectory=${state}
StateDirectoryMode=0700`
    : `# the data dir stays writable under ProtectSystem=strict; it must belong to ${user}
ReadWritePaths=${systemdWord(dataDir)}`
}
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=${underHome ? 'read-only' : 'true'}
PrivateTmp=true

[Install]
WantedBy=multi-user.target
`
}
