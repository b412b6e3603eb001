import type { Node } from './ast.js';
import { type Width, widthOf } from './width.js';

interface Step {
  readonly node: Node;
  readonly branch: number;
}

/**
 * Finds the groups that backreferences need, and the constructs JS would treat differently:
 * - JS lets a reference to a group that did not participate match the empty string (Python fails), and
 *   resets groups on each repetition; it has no per-group case-insensitivity.
 * - Past its minimum, a Python loop may run one last iteration that matches nothing (its zero-width
 *   guard only stops the next one); JS rejects every empty iteration. That is invisible to a plain
 *   match, but not to a backreference to a group inside the loop, nor to an atomic group or possessive
 *   repeat, which commit to the first way they match.
 */
export function analyze(
  items: readonly Node[],
  widths: readonly (Width | null)[],
): { referenced: Set<number>; problems: string[] } {
  const groupPaths = new Map<number, readonly Step[]>();
  const refs: { node: Extract<Node, { k: 'ref' }>; path: readonly Step[] }[] = [];
  const problems: string[] = [];
  const walk = (seq: readonly Node[], path: readonly Step[], backward: boolean): void => {
    for (const node of seq) {
      const here = [...path, { node, branch: 0 }];
      if (node.k === 'alt') node.alts.forEach((a, branch) => walk(a, [...path, { node, branch }], backward));
      else if (node.k === 'cond') {
        walk(node.yes, here, backward);
        if (node.no !== null) walk(node.no, [...path, { node, branch: 1 }], backward);
      } else if (node.k === 'ref') refs.push({ node, path: here });
      else if ('body' in node) {
        if (node.k === 'group' && node.id !== null) groupPaths.set(node.id, here);
        const commits = node.k === 'atomic' || (node.k === 'repeat' && node.mode === 'possessive');
        if (commits && !backward && hasEmptyIteration(node.k === 'atomic' ? node.body : [node], widths)) {
          problems.push('atomic groups and possessive repeats around a loop whose body can match empty');
        }
        walk(node.body, here, node.k === 'look' ? node.behind : backward);
      }
    }
  };
  walk(items, [], false);
  const referenced = new Set<number>();
  for (const ref of refs) {
    referenced.add(ref.node.id);
    if (ref.node.fl.i) problems.push('case-insensitive backreferences');
    const target = groupPaths.get(ref.node.id) ?? [];
    if (!alwaysSetBefore(target, ref.path, widths)) {
      problems.push('backreferences to a group that may be unset or set differently in JavaScript');
    }
  }
  return { referenced, problems };
}

const emptyIteration = (n: Node, widths: readonly (Width | null)[]): boolean =>
  n.k === 'repeat' && n.max > n.min && widthOf(n.body, widths)[0] === 0;

function hasEmptyIteration(seq: readonly Node[], widths: readonly (Width | null)[]): boolean {
  return seq.some((n) => {
    if (emptyIteration(n, widths)) return true;
    if (n.k === 'alt') return n.alts.some((a) => hasEmptyIteration(a, widths));
    if (n.k === 'cond') return hasEmptyIteration(n.yes, widths) || hasEmptyIteration(n.no ?? [], widths);
    return 'body' in n && hasEmptyIteration(n.body, widths);
  });
}

/** True when, on every path that reaches the reference, both engines set the group to the same text. */
function alwaysSetBefore(group: readonly Step[], ref: readonly Step[], widths: readonly (Width | null)[]): boolean {
  let c = 0;
  while (c < group.length && group[c]?.node === ref[c]?.node && group[c]?.branch === ref[c]?.branch) c++;
  if (c < group.length && group[c]?.node === ref[c]?.node) return false;
  return group.slice(c).every(({ node }) => {
    if (node.k === 'repeat') return node.min > 0 && !emptyIteration(node, widths);
    return node.k === 'group' || node.k === 'atomic';
  });
}
