/** What a command prints for an error: the message, hint and exit code, and its `--json` line. */
import { describe, expect, it } from 'vitest'
import { describeError, errorJson, unwrapFlagError } from '../src/cli/base-command.js'
import { ReportNotWrittenError } from '../src/engine/run-service.js'
import { InvalidInputError } from '../src/errors.js'
import { runRecord } from './report-fixtures.js'

const usage = { help: 'see chaos run --help', argument: 'say what to run: chaos list' }

describe('describeError and its --json line', () => {
  it('keeps a ChaosError as it is, with its extra lines as details', () => {
    const failure = describeError(
      new InvalidInputError('2 problems', 'fix them', ['a:1:1 x', 'a:2:1 y']),
      usage,
    )
    expect(errorJson(failure)).toEqual({
      error: '2 problems',
      hint: 'fix them',
      exit_code: 2,
      details: ['a:1:1 x', 'a:2:1 y'],
    })
    expect(errorJson(describeError(new InvalidInputError('no hint'), usage))).toEqual({
      error: 'no hint',
      hint: null,
      exit_code: 2,
    })
  })

  it('carries the record of a run whose report was not written, so stdout stays one JSON document', () => {
    const record = runRecord()
    const json = errorJson(describeError(new ReportNotWrittenError(record, '/r/x.json', 'ENOSPC'), usage))
    expect(json).toMatchObject({ exit_code: 4, record })
    // One line: the record's own text (e.g. analysis) never breaks it.
    expect(JSON.stringify(json)).not.toContain('\n')
  })

  it("names a missing argument (oclif's RequiredArgsError) and uses the command's hint", () => {
    const err = Object.assign(
      new Error('Missing 1 required arg:\nselection  CATEGORY...\nSee more help with --help'),
      {
        oclif: { exit: 2 },
        args: [{ name: 'selection', description: 'CATEGORY, SCENARIO_ID, FILE or DIR, or all' }],
      },
    )
    expect(errorJson(describeError(err, usage))).toEqual({
      error: 'missing argument SELECTION (CATEGORY, SCENARIO_ID, FILE or DIR, or all)',
      hint: 'say what to run: chaos list',
      exit_code: 2,
    })
    expect(describeError(err, { help: 'see chaos x --help' }).hint).toBe('see chaos x --help')
  })

  it('an unexpected error is a runtime error (exit 4)', () => {
    expect(errorJson(describeError(new Error('boom'), usage))).toEqual({
      error: 'boom',
      hint: null,
      exit_code: 4,
    })
  })

  it("puts the flag in front of oclif's own parse messages", () => {
    expect(
      unwrapFlagError('Parsing --port \n\tExpected an integer but received: abc\nSee more help with --help'),
    ).toBe('--port: Expected an integer but received: abc')
  })
})
