// The one place that knows what personal data looks like in a question's
// text: phone numbers, ID card numbers and e-mail addresses. The console
// redacts only when the server flagged the question (hints.flags); the
// patterns here decide what is replaced with "***". The original wording
// stays in original_text, for staff only, like every edit. They cover the
// forms the server's flags recognise (src/moderation/flags.rs): a flag the
// console cannot act on would leave the moderator with a dead key.

// A number never starts inside another (amounts like 15.000.000.000).
const PATTERNS = [
  ['email', /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu],
  // Citizen ID, 12 digits, possibly typed in groups of three; before phones, which it would look like.
  ['id_number', /(?<![\d.,])\b\d{3}[\s.]?\d{3}[\s.]?\d{3}[\s.]?\d{3}\b(?![.,]\d)/g],
  // Vietnamese mobile and landline numbers: 0…, +84…, 84…, (+84)…, (0296)…, with spaces, dots or dashes.
  ['phone_number', /(?<![\d.,])(?:(?:\(\+?84\)|\+84|\b84(?=[\s.-]?\d)|\b0)(?:[\s.-]?\d){8,10}|\(0\d{2,3}\)(?:[\s.-]?\d){6,8})\b(?![.,]\d)/g],
  // The old ID card, 9 digits.
  ['id_number', /(?<![\d.,])\b\d{9}\b(?![.,]\d)/g],
];

/** `text` with every phone number, ID number and e-mail address replaced by "***". */
export function redactPersonal(text) {
  return PATTERNS.reduce((out, [, re]) => out.replace(re, '***'), String(text ?? ''));
}

/** Flags that redaction can act on. */
export const REDACTABLE = new Set(PATTERNS.map(([flag]) => flag));
