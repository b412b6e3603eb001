/** How bad an issue is: an error rejects the bundle; a warning is reported and the bundle still loads. */
export type Severity = 'error' | 'warning';

/**
 * The rule an issue breaks. LiteLLM's validator rules keep LiteLLM's names
 * (`invalid_syntax`, `invalid_guardrail`, `invalid_inheritance`, `circular_inheritance`);
 * the rest are ours.
 */
export type IssueRule =
  | 'unparseable' // the file is not valid YAML/JSON
  | 'invalid_bundle' // the top level is not a mapping, or a section has the wrong type
  | 'invalid_syntax' // a policy fails LiteLLM's parser (§1)
  | 'invalid_guardrail' // unknown guardrail, or a pipeline step not in the policy's own guardrails.add (§10)
  | 'invalid_inheritance' // parent policy not found (§10)
  | 'circular_inheritance' // cycle, or chain deeper than 100 (§10)
  | 'invalid_attachment' // an attachment LiteLLM's loader rejects (§3)
  | 'invalid_condition' // a condition regex Python rejects (matches only literally) or we cannot run
  | 'unknown_policy' // an attachment names a policy that is not defined
  | 'unknown_key' // a key LiteLLM ignores (usually a typo)
  | 'duplicate_guardrail' // two guardrails share a guardrail_name
  | 'invalid_guardrail_config' // a guardrail's litellm_params are unusable for its kind
  | 'unsafe_regex' // a regex that can backtrack catastrophically (exponential or polynomial time)
  | 'not_executable' // a guardrail the sidecar cannot run (its steps end in ERROR); an error with --require-executable
  | 'missing_env_var' // an os.environ/NAME value whose variable is not set
  | 'invalid_file' // a file the bundle names is outside its directory, missing, too large or unreadable
  | 'drastic_shrink'; // a reload that would drop more than half of the serving policies and attachments

/**
 * One problem found in a bundle, with where it is. `line`/`column` are 1-based, 0 when unknown.
 * `path` is the location in the document, e.g. `policies.hipaa.guardrails.add[1]`.
 */
export interface Issue {
  readonly severity: Severity;
  readonly rule: IssueRule;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
}

/** A position in a source file, 1-based. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Sorts issues by file, line, column, rule, then message (the order every report uses). */
export function compareIssues(a: Issue, b: Issue): number {
  return (
    cmp(a.file, b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    cmp(a.rule, b.rule) ||
    cmp(a.path, b.path) ||
    cmp(a.message, b.message)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
