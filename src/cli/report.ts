import type { Issue } from '../model/issue.js';

/** One issue as a compiler-style line: `file:line:col: severity rule: message [path]`. */
export function formatIssue(i: Issue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.severity} ${i.rule}: ${i.message}${i.path ? ` [${i.path}]` : ''}`;
}

/** "2 errors, 1 warning". */
export function countIssues(issues: readonly Issue[]): string {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}
