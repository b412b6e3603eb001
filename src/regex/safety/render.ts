// Writes a parsed node back as Python pattern text, so a reason can quote the loop at fault. The text
// is equivalent, not identical, to what the author wrote (scoped flags and escapes are normalized).

import { MAXREPEAT, type At, type Cat, type Item, type Node } from '../python/ast.js';

const SPECIAL = new Set('.^$*+?{}[]\\|()');
const CLASS_SPECIAL = new Set('\\]^-[');
const NAMED: Readonly<Record<number, string>> = { 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
const AT: Readonly<Record<At, string>> = { bol: '^', eol: '$', A: '\\A', Z: '\\Z', b: '\\b', B: '\\B' };
const MAX_CHARS = 60;

function char(cp: number, special: ReadonlySet<string>): string {
  const named = NAMED[cp];
  if (named !== undefined) return named;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0) return '\\N{...}';
  const ch = String.fromCodePoint(cp);
  return special.has(ch) ? `\\${ch}` : ch;
}

function item(it: Item): string {
  if (it.t === 'lit') return char(it.cp, CLASS_SPECIAL);
  if (it.t === 'range') return `${char(it.lo, CLASS_SPECIAL)}-${char(it.hi, CLASS_SPECIAL)}`;
  return `\\${it.cat satisfies Cat}`;
}

function quantifier(min: number, max: number): string {
  if (max === MAXREPEAT) return min === 0 ? '*' : min === 1 ? '+' : `{${min},}`;
  if (min === 0 && max === 1) return '?';
  return min === max ? `{${min}}` : `{${min},${max}}`;
}

const isAtom = (items: readonly Node[]): boolean =>
  items.length === 1 && ['lit', 'in', 'any', 'group', 'ref', 'atomic', 'look'].includes(items[0]?.k ?? '');

function seq(items: readonly Node[]): string {
  return items.map(node).join('');
}

function node(n: Node): string {
  switch (n.k) {
    case 'lit':
      return n.neg ? `[^${char(n.cp, CLASS_SPECIAL)}]` : char(n.cp, SPECIAL);
    case 'in': {
      const [only] = n.items;
      if (n.items.length === 1 && only?.t === 'cat') return n.neg ? `[^${item(only)}]` : item(only);
      return `[${n.neg ? '^' : ''}${n.items.map(item).join('')}]`;
    }
    case 'any':
      return '.';
    case 'at':
      return AT[n.at];
    case 'alt':
      return n.alts.map(seq).join('|');
    case 'group':
      return n.id === null && !n.scoped ? `(?:${seq(n.body)})` : `(${n.id === null ? '?:' : ''}${seq(n.body)})`;
    case 'look':
      return `(?${n.behind ? '<' : ''}${n.neg ? '!' : '='}${seq(n.body)})`;
    case 'atomic':
      return `(?>${seq(n.body)})`;
    case 'repeat': {
      const body = isAtom(n.body) ? seq(n.body) : `(?:${seq(n.body)})`;
      return body + quantifier(n.min, n.max) + (n.mode === 'lazy' ? '?' : n.mode === 'possessive' ? '+' : '');
    }
    case 'ref':
      return `\\${n.id}`;
    case 'cond':
      return `(?(...)${seq(n.yes)}${n.no === null ? '' : `|${seq(n.no)}`})`;
  }
}

/** Python-style text of a node, cut to about 60 characters. */
export function renderNode(n: Node): string {
  const text = node(n);
  return text.length <= MAX_CHARS ? text : `${text.slice(0, MAX_CHARS - 1)}…`;
}
