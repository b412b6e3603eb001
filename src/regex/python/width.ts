import { MAXREPEAT, type Node } from './ast.js';

const MAXWIDTH = 2 ** 64;

/** `[min, max]` code points a subpattern can match, each capped at MAXWIDTH (2**64) as in CPython. */
export type Width = readonly [number, number];

/**
 * CPython's `SubPattern.getwidth`. `groupWidths[id]` is the width of each closed group, which a
 * backreference to it contributes.
 */
export function widthOf(items: readonly Node[], groupWidths: readonly (Width | null)[]): Width {
  let lo = 0;
  let hi = 0;
  for (const n of items) {
    switch (n.k) {
      case 'lit':
      case 'in':
      case 'any':
        lo += 1;
        hi += 1;
        break;
      case 'alt': {
        let i = MAXWIDTH;
        let j = 0;
        for (const a of n.alts) {
          const [l, h] = widthOf(a, groupWidths);
          i = Math.min(i, l);
          j = Math.max(j, h);
        }
        lo += i;
        hi += j;
        break;
      }
      case 'group':
      case 'atomic': {
        const [i, j] = widthOf(n.body, groupWidths);
        lo += i;
        hi += j;
        break;
      }
      case 'repeat': {
        const [i, j] = widthOf(n.body, groupWidths);
        lo += i * n.min;
        hi = n.max === MAXREPEAT && j !== 0 ? MAXWIDTH : hi + j * n.max;
        break;
      }
      case 'ref': {
        const [i, j] = groupWidths[n.id] ?? [0, 0];
        lo += i;
        hi += j;
        break;
      }
      case 'cond': {
        let [i, j] = widthOf(n.yes, groupWidths);
        if (n.no !== null) {
          const [l, h] = widthOf(n.no, groupWidths);
          i = Math.min(i, l);
          j = Math.max(j, h);
        } else {
          i = 0;
        }
        lo += i;
        hi += j;
        break;
      }
      case 'at':
      case 'look':
        break;
    }
  }
  return [Math.min(lo, MAXWIDTH), Math.min(hi, MAXWIDTH)];
}
