// The two ways translation stops. They are kept apart because they become different reasons:
// 'invalid' (Python would reject the pattern too) versus 'unsupported' (we cannot follow Python).

/** Python raised `re.error`. */
export class ReError extends Error {}
/** Python raised something other than `re.error`, or translation cannot continue. */
export class Unsupportable extends Error {}
