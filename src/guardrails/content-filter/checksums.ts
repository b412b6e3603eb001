/**
 * Check-digit tests that turn a pattern's candidates into matches (a number shaped like a card
 * number is not a card unless its check digit agrees). Each takes the candidate as matched,
 * separators included, and returns how many leading characters of it are accepted: 0 rejects it.
 * A shorter accepted prefix drops whole trailing groups only (a card number followed by a CVV).
 */

const MIN_CARD_DIGITS = 13;
const MIN_IBAN_CHARS = 15;

/** Whether a string of ASCII digits passes the Luhn (mod 10) check. */
export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  let isDoubled = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (isDoubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    isDoubled = !isDoubled;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Whether an IBAN without spaces has valid ISO 13616 check digits (mod 97 = 1); case-insensitive. */
export function isIbanValid(compact: string): boolean {
  if (compact.length < MIN_IBAN_CHARS || compact.length > 34) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rest = (rest * 10 + (c - 48)) % 97;
    else {
      const letter = c | 0x20; // ASCII lower case
      if (letter < 97 || letter > 122) return false;
      rest = (rest * 100 + (letter - 87)) % 97; // a=10 ... z=35
    }
  }
  return rest === 1;
}

/**
 * Accepts a card number candidate (13-19 digits, single spaces or dashes between groups) that
 * passes Luhn; if the whole fails, tries dropping trailing groups while 13 digits remain.
 */
export function acceptCardNumber(candidate: string): number {
  return acceptLongestPrefix(candidate, MIN_CARD_DIGITS, (compact) => compact.length <= 19 && isLuhnValid(compact));
}

/** Accepts an IBAN candidate (compact or in space-separated groups) with valid check digits, trimming trailing groups likewise. */
export function acceptIban(candidate: string): number {
  return acceptLongestPrefix(candidate, MIN_IBAN_CHARS, isIbanValid);
}

/** Accepts the whole candidate (no trimming) when its digits pass Luhn. */
export function acceptLuhn(candidate: string): number {
  return isLuhnValid(stripSeparators(candidate)) ? candidate.length : 0;
}

function acceptLongestPrefix(candidate: string, minChars: number, isValid: (compact: string) => boolean): number {
  let end = candidate.length;
  while (end > 0) {
    const compact = stripSeparators(candidate.slice(0, end));
    if (compact.length < minChars) return 0;
    if (isValid(compact)) return end;
    end = lastSeparatorBefore(candidate, end);
  }
  return 0;
}

// Candidates hold group characters (ASCII letters and digits, plus the non-ASCII letters Python's
// IGNORECASE lets [A-Z] match, which then fail validation) and separators (whitespace or '-').
function lastSeparatorBefore(s: string, end: number): number {
  for (let i = end - 1; i > 0; i--) if (!isGroupChar(s.charCodeAt(i))) return trimSeparatorsLeft(s, i);
  return 0;
}

function trimSeparatorsLeft(s: string, i: number): number {
  let j = i;
  while (j > 0 && !isGroupChar(s.charCodeAt(j - 1))) j--;
  return j;
}

function stripSeparators(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) if (isGroupChar(s.charCodeAt(i))) out += s[i];
  return out;
}

function isGroupChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 0x130 || c === 0x131 || c === 0x17f || c === 0x212a;
}

/** The ASCII digits of a candidate (separators dropped), as numbers. */
function digitsOf(candidate: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < candidate.length; i++) {
    const c = candidate.charCodeAt(i);
    if (c >= 48 && c <= 57) out.push(c - 48);
  }
  return out;
}

const weighted = (digits: readonly number[], weights: readonly number[]): number => weights.reduce((sum, w, i) => sum + w * (digits[i] as number), 0);
const whole = (isValid: (digits: number[]) => boolean) => (candidate: string): number => (isValid(digitsOf(candidate)) ? candidate.length : 0);

/** Brazilian CPF: 11 digits whose last two are mod-11 check digits; all-equal digits (111.111.111-11) are not issued. */
export function isCpfValid(d: readonly number[]): boolean {
  if (d.length !== 11 || d.every((x) => x === d[0])) return false;
  const check = (n: number): number => {
    const r = (weighted(d, Array.from({ length: n }, (_, i) => n + 1 - i)) * 10) % 11;
    return r === 10 ? 0 : r;
  };
  return check(9) === d[9] && check(10) === d[10];
}

/** Brazilian CNPJ: 14 digits whose last two are mod-11 check digits. */
export function isCnpjValid(d: readonly number[]): boolean {
  if (d.length !== 14 || d.every((x) => x === d[0])) return false;
  const check = (weights: readonly number[]): number => {
    const r = weighted(d, weights) % 11;
    return r < 2 ? 0 : 11 - r;
  };
  return check([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) === d[12] && check([6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) === d[13];
}

/** Australian Tax File Number: 9 digits (or 8, older) whose weighted sum is a multiple of 11. */
export function isTfnValid(d: readonly number[]): boolean {
  if (d.length === 9) return weighted(d, [1, 4, 3, 7, 5, 8, 6, 9, 10]) % 11 === 0;
  if (d.length === 8) return weighted(d, [10, 7, 8, 4, 6, 3, 5, 1]) % 11 === 0;
  return false;
}

/** Australian Business Number: 11 digits; with 1 taken from the first, the weighted sum is a multiple of 89. */
export function isAbnValid(d: readonly number[]): boolean {
  if (d.length !== 11 || d[0] === 0) return false;
  const adjusted = [(d[0] as number) - 1, ...d.slice(1)];
  return weighted(adjusted, [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]) % 89 === 0;
}

/** Australian Medicare card number: 10 digits (11 with the individual reference), first 2-6, the 9th a weighted check digit. */
export function isMedicareValid(d: readonly number[]): boolean {
  if ((d.length !== 10 && d.length !== 11) || (d[0] as number) < 2 || (d[0] as number) > 6) return false;
  return weighted(d, [1, 3, 7, 9, 1, 3, 7, 9]) % 10 === d[8];
}

/** Dutch BSN: 9 digits passing the "11-proof" (weights 9..2, and -1 for the last digit). */
export function isBsnValid(d: readonly number[]): boolean {
  if (d.length !== 9) return false;
  const sum = weighted(d, [9, 8, 7, 6, 5, 4, 3, 2, -1]);
  return sum % 11 === 0 && sum !== 0;
}

/** French NIR (INSEE number): 15 digits whose last two are 97 minus the first 13 modulo 97. */
export function isNirValid(d: readonly number[]): boolean {
  if (d.length !== 15) return false;
  let rest = 0;
  for (let i = 0; i < 13; i++) rest = (rest * 10 + (d[i] as number)) % 97;
  return 97 - rest === (d[13] as number) * 10 + (d[14] as number);
}

export const acceptCpf = whole(isCpfValid);
export const acceptCnpj = whole(isCnpjValid);
export const acceptTfn = whole(isTfnValid);
export const acceptAbn = whole(isAbnValid);
export const acceptMedicare = whole(isMedicareValid);
export const acceptBsn = whole(isBsnValid);
export const acceptNir = whole(isNirValid);
/** An IBAN candidate without separators: its check digits (mod 97), whole. */
export const acceptCompactIban = (candidate: string): number => (isIbanValid(candidate) ? candidate.length : 0);
