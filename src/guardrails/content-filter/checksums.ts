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
