// Prints the plain closing line CI reads: "N passed, N failed, N skipped". The type check counts as one test; the
// reliability suite's rows count when its summary file is given (a given file that is missing = the suite broke).
import { existsSync, readFileSync } from 'node:fs';

const [file, typecheckFailed, vitestRc, reliabilitySummary] = process.argv.slice(2);
let passed = 0, failed = 0, skipped = 0;
if (existsSync(file)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests; failed = r.numFailedTests; skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails to load has no tests to count: count it as a failure.
  failed += r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
} else if (vitestRc !== '0') failed += 1;
if (reliabilitySummary) {
  let rel;
  try {
    rel = JSON.parse(readFileSync(reliabilitySummary, 'utf8'));
  } catch {
    rel = { passed: 0, failed: 1, skipped: 0 }; // the suite ended before its report
  }
  passed += rel.passed; failed += rel.failed; skipped += rel.skipped;
}
if (typecheckFailed === '1') failed += 1; else passed += 1;
if (failed === 0 && vitestRc !== '0') failed += 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
