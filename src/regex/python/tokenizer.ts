import { ReError } from './errors.js';

/** CPython's Tokenizer: a token is one code point, or a backslash and the code point after it. */
export class Source {
  next: string | null = null;
  private index = 0;
  private nextLen = 0;

  constructor(private readonly cps: readonly string[]) {
    this.advance();
  }

  private advance(): void {
    let i = this.index;
    const ch = this.cps[i];
    if (ch === undefined) {
      this.next = null;
      this.nextLen = 0;
      return;
    }
    let tok = ch;
    if (ch === '\\') {
      i += 1;
      const c2 = this.cps[i];
      if (c2 === undefined) throw new ReError('bad escape (end of pattern)');
      tok += c2;
    }
    this.index = i + 1;
    this.next = tok;
    this.nextLen = tok === ch ? 1 : 2;
  }

  match(tok: string): boolean {
    if (this.next !== tok) return false;
    this.advance();
    return true;
  }

  get(): string | null {
    const tok = this.next;
    this.advance();
    return tok;
  }

  getwhile(n: number, charset: ReadonlySet<string>): string {
    let out = '';
    for (let k = 0; k < n && this.next !== null && charset.has(this.next); k++) out += this.get();
    return out;
  }

  getuntil(terminator: string, name: string): string {
    let out = '';
    for (;;) {
      const c = this.get();
      if (c === null) throw new ReError(out === '' ? `missing ${name}` : `missing ${terminator}, unterminated name`);
      if (c === terminator) {
        if (out === '') throw new ReError(`missing ${name}`);
        return out;
      }
      out += c;
    }
  }

  tell(): number {
    return this.index - this.nextLen;
  }

  seek(index: number): void {
    this.index = index;
    this.advance();
  }
}
