import { formatFailure, type SuiteResult } from './run.js';

/**
 * The results as JUnit XML, the form CI systems read: one `<testsuite>` per suite file, one
 * `<testcase>` per case (classname: the suite file), and a `<failure>` for each failed case, its
 * message the first failure and its text every failure line. Every string is escaped for XML 1.0,
 * characters XML cannot carry at all included.
 */
export function toJunitXml(results: readonly SuiteResult[]): string {
  const count = (r: SuiteResult): number => r.cases.filter((c) => c.failures.length > 0).length;
  const seconds = (r: SuiteResult): number => r.cases.reduce((sum, c) => sum + c.seconds, 0);
  const tests = results.reduce((n, r) => n + r.cases.length, 0);
  const failures = results.reduce((n, r) => n + count(r), 0);
  const time = results.reduce((t, r) => t + seconds(r), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="guardrail-pdp test" tests="${tests}" failures="${failures}" errors="0" time="${formatSeconds(time)}">`,
  ];
  for (const r of results) {
    const file = escapeAttr(r.suite.file);
    lines.push(
      `  <testsuite name="${file}" file="${file}" tests="${r.cases.length}" failures="${count(r)}" errors="0" skipped="0" time="${formatSeconds(seconds(r))}">`,
    );
    for (const c of r.cases) {
      const open = `    <testcase name="${escapeAttr(c.case.name)}" classname="${file}" file="${file}" line="${c.case.line}" time="${formatSeconds(c.seconds)}"`;
      const [first] = c.failures;
      if (first === undefined) {
        lines.push(`${open}/>`);
        continue;
      }
      const text = c.failures.map((f) => formatFailure(r.suite.file, c.case, f)).join('\n');
      lines.push(`${open}>`, `      <failure message="${escapeAttr(first.message)}" type="mismatch">${escapeText(text)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** Seconds with millisecond precision, as JUnit readers expect. */
function formatSeconds(s: number): string {
  return s.toFixed(3);
}

/** Text content: markup characters escaped. */
function escapeText(s: string): string {
  return legal(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value in double quotes: markup characters, quotes and line breaks escaped (a parser would fold raw ones to spaces). */
function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/**
 * XML 1.0 cannot carry most control characters, lone surrogates, U+FFFE or U+FFFF, even as
 * character references: each becomes U+FFFD, so the file always parses.
 */
function legal(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
