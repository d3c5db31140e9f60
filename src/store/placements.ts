/**
 * The rules both backends apply to a delivery's placements (../store/backend.ts `Placement`),
 * pure: which folder name a placement means and how two placements in one folder combine.
 */
import {normalizeFolderName} from '../mailstore/folder-rules.js'

/** the canonical folder name, or undefined when a script named no valid folder (the copy goes to INBOX) */
export function placementName(folder: string): string | undefined {
  try {
    return normalizeFolderName(folder)
  } catch {
    return undefined
  }
}

/** both flag sets (canonical, so case is settled), each flag once */
export const mergeFlags = (a: string[], b: string[]): string[] => [...new Set([...a, ...b])]
