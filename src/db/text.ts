import { InvalidInputError } from './errors.ts';

// C0 controls except tab, line feed and carriage return; DEL and C1 controls;
// bidi overrides and isolates, which can make text read differently than stored.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;

/** Trims `value` and holds it to [min, max] characters (code points); refuses control characters. */
export function cleanText(value: string, field: string, min: number, max: number): string {
  const text = value.trim();
  if (FORBIDDEN.test(text)) throw new InvalidInputError(field, `${field} must not contain control or bidi-override characters`);
  const length = [...text].length;
  if (length < min || length > max) {
    throw new InvalidInputError(field, `${field} must be ${min} to ${max} characters after trimming (got ${length})`);
  }
  return text;
}

export function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value == null || value.trim() === '') return null;
  return cleanText(value, field, 1, max);
}
