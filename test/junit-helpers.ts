/**
 * JUnit XML checks for the report tests, through libxml2's `xmllint` (Debian libxml2-utils; .ci/run
 * installs it): validation against the JUnit XSD CI servers use, and XPath reads through the same
 * parser (never a regular expression over the text).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { expect } from 'vitest'
import { ROOT } from './support/index.js'

/** The Jenkins xUnit plugin's JUnit schema (test/fixtures/junit/README.md says where it came from). */
export const JUNIT_XSD = join(ROOT, 'test', 'fixtures', 'junit', 'junit-10.xsd')

/** Fails the test with xmllint's own messages (and the file) unless `file` is valid against the XSD. */
export async function expectValidJunit(file: string): Promise<void> {
  const result = await execa('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { reject: false })
  expect(result.exitCode, `${result.stderr}\n${await readFile(file, 'utf8')}`).toBe(0)
}

/** An XPath expression evaluated on `file` (a string or number result; '' for an empty node set). */
export async function xpath(file: string, expression: string): Promise<string> {
  const result = await execa('xmllint', ['--xpath', expression, file], { reject: false })
  // xmllint exits 10 for an empty node set: "no match".
  if (result.exitCode === 10) return ''
  expect(result.exitCode, result.stderr).toBe(0)
  return result.stdout
}
