import type { Bundle, DocPath } from '../model/bundle.js';
import type { Issue, IssueRule, Severity } from '../model/issue.js';

/** Formats a document path for humans: `policies.hipaa.guardrails.add[1]`, `policies["a.b"]`. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Builds an issue located at `path` in the bundle (line and column from the source, 0 if unknown). */
export function issueAt(
  bundle: Bundle,
  severity: Severity,
  rule: IssueRule,
  message: string,
  path: DocPath,
): Issue {
  const pos = bundle.locate(path);
  return Object.freeze({
    severity,
    rule,
    message,
    file: bundle.origin,
    line: pos?.line ?? 0,
    column: pos?.column ?? 0,
    path: formatPath(path),
  });
}
