// Prints the plain closing line CI reads: "N passed, N failed, N skipped". The type check and the lint check
// (scripts/lint.sh) count as one test each ("1" = failed, "0" = passed, "-" or absent = did not run); the
// reliability suite's rows count when its summary file is given (a given file that is missing = the suite broke);
// the Ironic plugin's pytest cases count when its JUnit XML file is given (see pytestCounts).
import { existsSync, readFileSync } from 'node:fs';

const [file, typecheckFailed, vitestRc, reliabilitySummary, pytestXml, pytestRc, lintFailed = '-'] =
  process.argv.slice(2);

/**
 * pytest's counts from its JUnit XML (every <testsuite>'s tests, failures, errors, skipped). Exit 5 (no tests
 * collected) and a missing or unreadable file count as one failure, so a suite that ran nothing never passes.
 */
function pytestCounts(xmlFile, rc) {
  let xml;
  try {
    xml = readFileSync(xmlFile, 'utf8');
  } catch {
    console.log(`pytest: no results in ${xmlFile} (exit ${rc}): counted as 1 failure`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const c = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const [, attrs] of xml.matchAll(/<testsuite\b([^>]*)>/g))
    for (const k of Object.keys(c)) c[k] += Number(new RegExp(`\\b${k}="(\\d+)"`).exec(attrs)?.[1] ?? 0);
  const r = { passed: c.tests - c.failures - c.errors - c.skipped, failed: c.failures + c.errors, skipped: c.skipped };
  if (rc === '5' || c.tests === 0) {
    console.log('pytest: no tests were collected: counted as 1 failure');
    r.failed += 1;
  } else if (rc !== '0' && r.failed === 0) r.failed += 1; // pytest itself failed (internal error, bad option)
  console.log(`pytest (ironic-plugin): ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  return r;
}

let passed = 0,
  failed = 0,
  skipped = 0;
if (existsSync(file)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + r.numTodoTests;
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
  passed += rel.passed;
  failed += rel.failed;
  skipped += rel.skipped;
}
if (pytestXml) {
  const py = pytestCounts(pytestXml, pytestRc);
  passed += py.passed;
  failed += py.failed;
  skipped += py.skipped;
}
for (const check of [typecheckFailed, lintFailed]) {
  if (check === '1') failed += 1;
  else if (check !== '-') passed += 1;
}
if (lintFailed === '1') console.log('lint (scripts/lint.sh): failed');
if (failed === 0 && vitestRc !== '0') failed += 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
