// Backstage notes: a short message from the podium (a speaker or the chair)
// to the moderators, never shown to the public. This module owns the form
// speakers and the chair send them with (two presets plus free text up to
// 140 characters) and how a note's sender is named on the console and chair.

import { addStrings, t } from './i18n.js';
import { h, deptName, errorText } from './ui.js';

export const MAX_NOTE_CHARS = 140;

addStrings(
  {
    'note.title': 'Nhắn ban điều phối', 'note.next': 'Xin chuyển câu tiếp', 'note.more_time': 'Cần thêm 2 phút',
    'note.free': 'Lời nhắn khác (tối đa 140 ký tự)', 'note.send': 'Gửi', 'note.sent': 'Đã gửi lúc {time}: «{text}»',
    'note.private': 'Chỉ ban điều phối và chủ trì thấy, không hiện lên màn hình.', 'note.chair': 'Chủ trì',
    'note.empty': 'Hãy nhập lời nhắn',
  },
  {
    'note.title': 'Message the moderators', 'note.next': 'Please move to the next question', 'note.more_time': 'I need 2 more minutes',
    'note.free': 'Other message (up to 140 characters)', 'note.send': 'Send', 'note.sent': 'Sent at {time}: “{text}”',
    'note.private': 'Only the moderators and the chair see this; never on the screens.', 'note.chair': 'Chair',
    'note.empty': 'Type a message',
  },
);

/** The presets are sent as Vietnamese text: the moderators' language. */
const PRESETS = [
  ['note.next', 'Xin chuyển câu tiếp'],
  ['note.more_time', 'Cần thêm 2 phút'],
];

/** Who sent a note, for people: "Sở Giáo dục và Đào tạo", "Chủ trì". */
export function noteSender(event, from) {
  if (from?.startsWith('speaker:')) return deptName(event, from.slice('speaker:'.length));
  if (from === 'chair') return t('note.chair');
  return from ?? '';
}

/**
 * The note form: preset buttons and a free-text field. `fmtTime` formats the
 * confirmation's time. Returns the element; re-create it after a language switch.
 */
export function noteForm(client, fmtTime) {
  const status = h('p', { class: 'note-status', attrs: { role: 'status', 'data-note-status': '' } });
  const send = async (text, button) => {
    const clean = text.normalize('NFC').trim();
    if (!clean) {
      status.textContent = t('note.empty');
      return false;
    }
    if (button) button.disabled = true;
    try {
      await client.command({ type: 'backstage_note', text: clean });
      status.className = 'note-status ok';
      status.textContent = t('note.sent', { time: fmtTime(Date.now()), text: clean });
      return true;
    } catch (err) {
      status.className = 'note-status error';
      status.textContent = errorText(err);
      return false;
    } finally {
      if (button) button.disabled = false;
    }
  };
  const presets = PRESETS.map(([key, text]) => h('button', { text: t(key), class: 'preset', attrs: { type: 'button', 'data-note-preset': key }, on: { click: (e) => send(text, e.currentTarget) } }));
  const input = h('input', { attrs: { id: 'note-text', type: 'text', maxlength: MAX_NOTE_CHARS, autocomplete: 'off' } });
  const submit = h('button', { text: t('note.send'), class: 'primary', attrs: { type: 'submit' } });
  const form = h(
    'form',
    { class: 'note-form', attrs: { 'aria-labelledby': 'note-h' }, on: { submit: async (e) => {
      e.preventDefault();
      if (await send(input.value, submit)) input.value = '';
    } } },
    h('h2', { text: t('note.title'), attrs: { id: 'note-h' } }),
    h('div', { class: 'presets' }, presets),
    h('label', { text: t('note.free'), attrs: { for: 'note-text' } }),
    h('div', { class: 'note-row' }, input, submit),
    h('p', { class: 'muted small', text: t('note.private') }),
    status,
  );
  return form;
}
