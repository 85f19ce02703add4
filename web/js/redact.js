// The one place that knows what personal data looks like in a question's
// text: phone numbers, ID card numbers and e-mail addresses. The console
// redacts only when the server flagged the question (hints.flags); the
// pattern here decides what is replaced with "***". The original wording
// stays in original_text, for staff only, like every edit.

const PATTERNS = {
  // e-mail first, so the digits of an address are not taken for a phone.
  email: /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu,
  // Vietnamese mobile and landline numbers: 0xx… or +84…, with spaces, dots or dashes.
  phone_number: /(?:\+84|\b0)(?:[\s.-]?\d){8,10}\b/g,
  // Citizen ID (12 digits) and the old ID card (9 digits).
  id_number: /\b(?:\d{12}|\d{9})\b/g,
};

/** `text` with every phone number, ID number and e-mail address replaced by "***". */
export function redactPersonal(text) {
  let out = String(text ?? '');
  for (const re of Object.values(PATTERNS)) out = out.replace(re, '***');
  return out;
}

/** Flags that redaction can act on. */
export const REDACTABLE = new Set(Object.keys(PATTERNS));
