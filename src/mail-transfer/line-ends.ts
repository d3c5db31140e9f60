/**
 * Line ends between the store and files. Stored mail has CRLF lines (RFC 5322 §2.1; IMAP serves
 * the bytes as stored), while mbox and Maildir files on Unix have LF lines (mutt, mbsync,
 * Dovecot, Python's `mailbox` write them so). Both conversions apply only where they can be
 * undone: an export writes LF only for a message whose every line ends CRLF, an import makes
 * CRLF only of a file with no CR at all, so export then import gives back the stored bytes.
 */
const LF = 0x0a
const CR = 0x0d

/** a file's message as stored: LF lines become CRLF when the file has no CR anywhere */
export function toStoredForm(file: Buffer): Buffer {
  if (file.includes(CR) || !file.includes(LF)) return file
  return Buffer.from(file.toString('latin1').replace(/\n/g, '\r\n'), 'latin1')
}

/** a stored message as a file: CRLF lines become LF when every LF follows a CR and no CR stands alone */
export function toFileForm(stored: Buffer): Buffer {
  let crlf = 0
  for (let i = stored.indexOf(LF); i !== -1; i = stored.indexOf(LF, i + 1)) {
    if (i === 0 || stored[i - 1] !== CR) return stored
    crlf++
  }
  let cr = 0
  for (let i = stored.indexOf(CR); i !== -1; i = stored.indexOf(CR, i + 1)) cr++
  if (cr !== crlf || crlf === 0) return stored
  return Buffer.from(stored.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')
}
