// Accent-insensitive search keys for Vietnamese, the same rule as the server's
// domain/text.rs: NFD, drop combining marks, map đ/Đ (which has no
// decomposition) to d, lower-case. "khoi nghiep" then finds "Khởi nghiệp".
// Keys are for matching only; text is always shown as written.

export function fold(s) {
  return String(s ?? '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase();
}

/** True when every word of `query` occurs in `text`, ignoring accents and case. */
export function matches(text, query) {
  const hay = fold(text);
  return fold(query).split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}
