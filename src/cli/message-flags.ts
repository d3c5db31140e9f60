/** Flags shared by the `message` commands. */
import {Flags} from '@oclif/core'

export const folderFlag = {folder: Flags.string({char: 'f', summary: 'Folder.', default: 'INBOX'})}
