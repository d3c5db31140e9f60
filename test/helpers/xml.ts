/**
 * XML and property lists read by Python's standard library (xml.etree.ElementTree, plistlib), a
 * reader independent of the code that wrote them: what a test parses here, a client's parser reads too.
 */
import {spawnSync} from 'node:child_process'
import {onPath} from './ci.js'

export const HAS_PYTHON = onPath('python3')

/** an element as ElementTree sees it: tag `{namespace}Name` when namespaced */
export interface XmlElement {
  tag: string
  attrib: Record<string, string>
  text: string
  children: XmlElement[]
}

const SCRIPTS = {
  xml: `
import json, sys, xml.etree.ElementTree as ET
def walk(e):
    return {'tag': e.tag, 'attrib': dict(e.attrib), 'text': (e.text or '').strip(), 'children': [walk(c) for c in e]}
print(json.dumps(walk(ET.fromstring(sys.stdin.buffer.read()))))
`,
  plist: `
import json, plistlib, sys
print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))
`,
}

function python(script: string, input: string): unknown {
  const r = spawnSync('python3', ['-c', script], {input, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`python3 could not parse it: ${r.stderr}\n${input}`)
  return JSON.parse(r.stdout)
}

export const parseXml = (text: string): XmlElement => python(SCRIPTS.xml, text) as XmlElement
export const parsePlist = (text: string): any => python(SCRIPTS.plist, text)

/** the children of `element` whose tag's local name is `name` */
export const childrenNamed = (element: XmlElement, name: string): XmlElement[] => element.children.filter((c) => c.tag.replace(/^\{[^}]*\}/, '') === name)

/** the text of the first child named `name` ('' when none) */
export const childText = (element: XmlElement, name: string): string => childrenNamed(element, name)[0]?.text ?? ''
