import { ReportStore } from './reports/store.js'
import { withAnalysis } from './reports/interpretation.js'
import { runRecord, guideExperiment } from './test/report-fixtures.js'
const s = new ReportStore({ dir: '/tmp/tmp.MEw8ZSb3Ds/r' })
await s.writeRun(withAnalysis(runRecord()))
await s.writeRun(withAnalysis(runRecord({ run_id: 'second', started_at: '2026-11-29T10:00:00.000Z', outcome: 'PASSED', exit_code: 0, experiments: [guideExperiment({hypothesis_held: true})] })))
